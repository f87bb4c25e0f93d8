"""Messaging a return's workflow, with Temporal's failures turned into problem+json."""

from typing import Any

from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.messages import NOT_RETURNABLE
from api.problems import Problem
from domain.returns import ReturnView
from workflows.messages import INELIGIBLE, INVALID_INPUT, STATUS_CONFLICT

STATUS_FOR_ERROR_TYPE = {STATUS_CONFLICT: 409, INVALID_INPUT: 422, INELIGIBLE: 422, NOT_RETURNABLE: 422}


# The server's word when the workflow closed in the same task that failed the update.
UPDATE_OUTLIVED_BY_WORKFLOW = "AcceptedUpdateCompletedWorkflow"


def _problem_for_cause(cause: BaseException | None) -> Problem:
    """The first business error along the failure's cause chain decides the answer."""
    error = cause
    while error is not None:
        if isinstance(error, ApplicationError) and error.type in STATUS_FOR_ERROR_TYPE:
            errors = [d for d in error.details if isinstance(d, dict)]
            return Problem(STATUS_FOR_ERROR_TYPE[error.type], error.message, errors)
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
    return Problem(503, "the workflow engine did not answer; try again", headers={"Retry-After": "5"})


async def update_return(client: Client, return_id: str, update: str, arg: Any) -> ReturnView:
    handle = client.get_workflow_handle(return_id)
    try:
        return await handle.execute_update(update, arg, result_type=ReturnView)
    except WorkflowUpdateFailedError as failure:
        raise await explain_update_failure(client, return_id, failure) from None
    except RPCError as error:
        raise problem_for_rpc_error(error) from None
