"""Messaging a return's workflow, with Temporal's failures turned into problem+json."""

import asyncio
import uuid
from datetime import timedelta
from typing import TypeVar, cast

from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from api.problems import Problem
from domain.returns import ReturnView
from messages.errors import ErrorType
from workflows.return_workflow import ReturnWorkflow

STATUS_FOR_ERROR_TYPE: dict[str, int] = {
    ErrorType.STATUS_CONFLICT: 409,
    ErrorType.INVALID_INPUT: 422,
    ErrorType.INELIGIBLE: 422,
    ErrorType.NOT_RETURNABLE: 422,
    ErrorType.TOO_SOON: 429,
}


# The server's word when the workflow closed in the same task that failed the update.
UPDATE_OUTLIVED_BY_WORKFLOW = "AcceptedUpdateCompletedWorkflow"


def _problem_for_cause(cause: BaseException | None) -> Problem:
    """The first business error along the failure's cause chain decides the answer."""
    error = cause
    while error is not None:
        if isinstance(error, ApplicationError) and error.type in STATUS_FOR_ERROR_TYPE:
            errors = [d for d in error.details if isinstance(d, dict)]
            # A refusal for now (ErrorType.TOO_SOON) says in how many seconds to ask again.
            retry_after = next((str(d) for d in error.details if isinstance(d, int)), None)
            headers = {"Retry-After": retry_after} if retry_after else None
            return Problem(STATUS_FOR_ERROR_TYPE[error.type], error.message, errors, headers)
        error = error.__cause__
    return Problem(409, f"the return could not take this change: {cause}")


async def explain_update_failure(client: Client, workflow_id: str, failure: WorkflowUpdateFailedError) -> Problem:
    """The problem for a failed update; when the workflow ended first, its own failure says why."""
    cause = failure.cause
    if isinstance(cause, ApplicationError) and cause.type == UPDATE_OUTLIVED_BY_WORKFLOW:
        try:
            await client.get_workflow_handle(workflow_id).result()
        except WorkflowFailureError as ended:
            return _problem_for_cause(ended.cause)
    return _problem_for_cause(cause)


def problem_for_rpc_error(error: RPCError) -> Problem:
    if error.status == RPCStatusCode.NOT_FOUND:
        return Problem(409, "the return has ended and can no longer change")
    return engine_unavailable()


def engine_unavailable() -> Problem:
    return Problem(503, "the workflow engine did not answer; try again", headers={"Retry-After": "5"})


ArgT = TypeVar("ArgT")
ReturnUpdate = UpdateMethodMultiParam[[ReturnWorkflow, ArgT], ReturnView]
# temporalio types an update declared with options (unfinished_policy=…) as returning its coroutine.
DECISION = cast(UpdateMethodMultiParam[[ReturnWorkflow], ReturnView], ReturnWorkflow.decision)


# Answers of the server that a moment later may be different: the update is sent again, under the same id.
TRANSIENT = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.ABORTED,
        RPCStatusCode.INTERNAL,
        RPCStatusCode.UNKNOWN,
    }
)
# The workflow task that held the update failed (e.g. the server refused its completion because a signal
# arrived meanwhile, UnhandledCommand); the task is retried at once, and so is the update.
TASK_FAILED_MESSAGE = "unexpected workflow task failure"
UPDATE_ATTEMPTS = 3
# How long one attempt waits for the workflow's answer: with no worker up, the caller gets a 503 with
# Retry-After after the attempts, not a hang until its own timeout.
UPDATE_RPC_TIMEOUT = timedelta(seconds=15)


def is_transient(error: RPCError) -> bool:
    """An answer of the server that a moment later may be different."""
    if error.status == RPCStatusCode.FAILED_PRECONDITION:
        return TASK_FAILED_MESSAGE in error.message
    return error.status in TRANSIENT


async def update_return(client: Client, return_id: str, update: ReturnUpdate[ArgT], arg: ArgT) -> ReturnView:
    """Send one of ReturnWorkflow's updates (``ReturnWorkflow.cancel``, ``.review``, ``.inspect``) and wait.

    The update has an id of its own, so sending it again after a transient failure (the workflow task that
    held it failed, e.g. a carrier scan arrived as the workflow closed) reaches the same update, never a
    second one: the caller gets its answer, not a 503.
    """
    handle = client.get_workflow_handle(return_id, result_type=ReturnView)
    update_id = f"api-{uuid.uuid4()}"
    for attempt in range(1, UPDATE_ATTEMPTS + 1):
        try:
            return await handle.execute_update(update, arg, id=update_id, rpc_timeout=UPDATE_RPC_TIMEOUT)
        except WorkflowUpdateFailedError as failure:
            raise await explain_update_failure(client, return_id, failure) from None
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            if attempt == UPDATE_ATTEMPTS:
                raise Problem(
                    503, "the workflow engine did not answer; try again", headers={"Retry-After": "5"}
                ) from None
        except RPCError as error:
            if not is_transient(error) or attempt == UPDATE_ATTEMPTS:
                raise problem_for_rpc_error(error) from None
        await asyncio.sleep(0.2 * attempt)
    raise AssertionError("unreachable")
