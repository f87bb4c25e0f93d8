"""How workflow code calls activities: store writes as local activities, partners with retries.

Both take a typed ``ActivityRef`` (``messages/``), so the argument is checked and
the result has the activity's declared type, and every call gets the reference's
summary in words (Temporal UI shows it on the call's event).
"""

import asyncio
from datetime import timedelta
from typing import TypeVar, cast

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from messages.activity_ref import ActivityRef
    from workflows import shapes

STORE_CALL_TIMEOUT = timedelta(seconds=15)
PARTNER_CALL_TIMEOUT = timedelta(seconds=30)
# Partners get a day to come back, retried with backoff; after that a person must act.
PARTNER_GIVE_UP_AFTER = timedelta(days=1)
PARTNER_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
# A partner call tried within the workflow task first: two attempts, ten seconds in all, then an activity.
LOCAL_PARTNER_CALL_BUDGET = timedelta(seconds=10)
LOCAL_PARTNER_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=2)

ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")


async def store(activity: ActivityRef[ArgT, ResultT], arg: ArgT) -> ResultT:
    """A short database read or write, run as a local activity (no extra round trip through the server)."""
    result = await workflow.execute_local_activity(
        activity.name,
        arg,
        result_type=activity.result_type,
        start_to_close_timeout=STORE_CALL_TIMEOUT,
        summary=activity.summary(arg),
    )
    return cast(ResultT, result)


async def partner(activity: ActivityRef[ArgT, ResultT], arg: ArgT) -> ResultT:
    """A call to a partner, retried with backoff for up to a day.

    From shape 1 on it is tried first as a local activity, within the workflow task: a partner that
    answers at once costs one marker in the history instead of three events and a workflow task. Only
    if that fails (the partner is slow or down, not when it refuses) does the call become an activity
    of its own with the day of retries, shown in Temporal UI as such. Every partner call carries an
    idempotency key, so the second try of a call the first may have made changes nothing. A workflow
    that is undoing (its ``undoing`` is true, ``ReturnWorkflow._undo``) makes its calls activities at once."""
    if shapes.at_least(1) and not getattr(workflow.instance(), "undoing", False):
        try:
            result = await workflow.execute_local_activity(
                activity.name,
                arg,
                result_type=activity.result_type,
                start_to_close_timeout=PARTNER_CALL_TIMEOUT,
                schedule_to_close_timeout=LOCAL_PARTNER_CALL_BUDGET,
                retry_policy=LOCAL_PARTNER_RETRY,
                summary=activity.summary(arg),
            )
            return cast(ResultT, result)
        except ActivityError as failure:
            if refused_by_partner(failure):
                raise
        except ApplicationError as answer:
            if answer.non_retryable:
                # The partner's no reaches callers as an activity's would: an ActivityError caused by it.
                raise ActivityError(
                    f"{activity.name} refused",
                    scheduled_event_id=0,
                    started_event_id=0,
                    identity="",
                    activity_type=activity.name,
                    activity_id="",
                    retry_state=None,
                ) from answer
        # The call will now wait, maybe long: what the workflow changed so far is written first.
        flush = getattr(workflow.instance(), "flush_pending_writes", None)
        if flush is not None:
            await flush()
    result = await workflow.execute_activity(
        activity.name,
        arg,
        result_type=activity.result_type,
        start_to_close_timeout=PARTNER_CALL_TIMEOUT,
        schedule_to_close_timeout=PARTNER_GIVE_UP_AFTER,
        retry_policy=PARTNER_RETRY,
        summary=activity.summary(arg),
    )
    return cast(ResultT, result)


def refused_by_partner(failure: ActivityError) -> bool:
    """The partner answered no (card closed, declined): retrying cannot help, another way might."""
    return isinstance(failure.cause, ApplicationError) and failure.cause.non_retryable


def partner_in_background(activity: ActivityRef[ArgT, ResultT], arg: ArgT) -> None:
    """A partner call nobody waits for (a notice to staff): retried like any, its failure only logged.

    Abandoned if the workflow ends first.
    """
    handle = workflow.start_activity(
        activity.name,
        arg,
        result_type=activity.result_type,
        start_to_close_timeout=PARTNER_CALL_TIMEOUT,
        schedule_to_close_timeout=PARTNER_GIVE_UP_AFTER,
        retry_policy=PARTNER_RETRY,
        summary=activity.summary(arg),
    )
    handle.add_done_callback(_log_failure)


def _log_failure(done: "asyncio.Future[object]") -> None:
    if not done.cancelled() and done.exception() is not None:
        workflow.logger.warning("background partner call failed: %s", done.exception())
