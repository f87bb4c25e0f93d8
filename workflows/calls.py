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

STORE_CALL_TIMEOUT = timedelta(seconds=15)
PARTNER_CALL_TIMEOUT = timedelta(seconds=30)
# Partners get a day to come back, retried with backoff; after that a person must act.
PARTNER_GIVE_UP_AFTER = timedelta(days=1)
PARTNER_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))

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
    """A call to a partner, retried with backoff for up to a day."""
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
