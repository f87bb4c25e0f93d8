"""Messaging a return's workflow, with Temporal's failures turned into problem+json."""

from typing import Any

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.problems import Problem
from domain.returns import ReturnView
from workflows.messages import INELIGIBLE, INVALID_INPUT, STATUS_CONFLICT

STATUS_FOR_ERROR_TYPE = {STATUS_CONFLICT: 409, INVALID_INPUT: 422, INELIGIBLE: 422}


def problem_for_update_failure(failure: WorkflowUpdateFailedError) -> Problem:
    cause = failure.cause
    if isinstance(cause, ApplicationError) and cause.type in STATUS_FOR_ERROR_TYPE:
        errors = [d for d in cause.details if isinstance(d, dict)]
        return Problem(STATUS_FOR_ERROR_TYPE[cause.type], cause.message, errors)
    return Problem(409, f"the return could not take this change: {cause}")


def problem_for_rpc_error(error: RPCError) -> Problem:
    if error.status == RPCStatusCode.NOT_FOUND:
        return Problem(409, "the return has ended and can no longer change")
    return Problem(503, "the workflow engine did not answer; try again", headers={"Retry-After": "5"})


async def update_return(client: Client, return_id: str, update: str, arg: Any) -> ReturnView:
    handle = client.get_workflow_handle(return_id)
    try:
        return await handle.execute_update(update, arg, result_type=ReturnView)
    except WorkflowUpdateFailedError as failure:
        raise problem_for_update_failure(failure) from None
    except RPCError as error:
        raise problem_for_rpc_error(error) from None
