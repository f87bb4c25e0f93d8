"""Returns: preview, create (Update-with-Start), read, list, and the human steps."""

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.openapi.models import Example
from pydantic import BaseModel, Field
from temporalio.client import WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api import return_acts
from api.attention import resolve_attention
from api.auth import Caller, allow
from api.deps import AppSettings, Session, Temporal
from api.judging import judge, no_override_for_customers
from api.problems import Problem
from api.query import Timestamp
from api.request_log import bind_return
from api.return_acts import refuse_unless_visible, visible_return
from api.surveys import AnsweredSurvey, answer_survey
from api.workflow_calls import DECISION, explain_update_failure, problem_for_rpc_error
from domain.attention import Resolution
from domain.evaluation import Evaluation, refusal_errors
from domain.privacy import SubmittedLine, submitted_lines
from domain.progress import ProgressNode, progress
from domain.returns import (
    CancelRequest,
    DisputeRequest,
    Inspection,
    ReturnRequest,
    ReturnView,
    ReviewDecision,
    Status,
)
from domain.surveys import SurveyAnswer
from messages import search_attributes
from store import evidence, returns, submissions
from store.ledger import MoneyLine
from store.tickets import TicketView
from workflows.return_workflow import ReturnWorkflow

router = APIRouter(prefix="/v1/returns", tags=["returns"])
ReturnId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
# The README's return request.
RETURN_EXAMPLES: dict[str, Example] = {
    "defective": {
        "summary": "One defective tee, refunded, dropped off at a carrier's shop",
        "value": {
            "order_id": "O1001",
            "lines": [{"line_id": "L1", "quantity": 1, "reason": "defective", "comment": "seam came apart"}],
            "resolution": "refund",
            "logistics": {"method": "drop_off"},
            "channel": "api",
        },
    }
}
ReturnBody = Annotated[ReturnRequest, Body(openapi_examples=RETURN_EXAMPLES)]


class ReturnPage(BaseModel):
    items: list[ReturnView]
    next_cursor: str | None


class ReturnProgress(BaseModel):
    nodes: list[ProgressNode]


class UrgeAccepted(BaseModel):
    return_id: str
    accepted: bool


@router.post("/preview", response_model=Evaluation)
async def preview_return(
    body: ReturnBody, request: Request, caller: Annotated[Caller, Depends(allow("service", "operator", "customer"))]
) -> Evaluation:
    """What the policy would decide for this request, with no side effects."""
    no_override_for_customers(caller, body)
    _, evaluation = await judge(request, body, caller)
    return evaluation


@router.post("", status_code=201, response_model=ReturnView)
async def create_return(
    body: ReturnBody,
    request: Request,
    temporal: Temporal,
    settings: AppSettings,
    caller: Annotated[Caller, Depends(allow("service", "operator", "customer"))],
) -> ReturnView:
    """Start the return's workflow and answer with the policy's decision already made.

    Staff may set ``override`` (with ``override_reason``) to approve what the policy
    refuses; the override is written to the audit trail. A customer may create returns for its
    own orders only (another's is a 404) and may not override (403).
    """
    no_override_for_customers(caller, body)
    start, evaluation = await judge(request, body, caller)
    bind_return(start.return_id)
    errors = refusal_errors(evaluation, body)
    if errors:
        raise Problem(422, "the return is not eligible", errors)
    # With an Idempotency-Key the return id is derived from it: a retry after a timeout reaches the
    # same workflow (USE_EXISTING) or, once it has ended, is refused a second run (REJECT_DUPLICATE).
    operation = WithStartWorkflowOperation(
        ReturnWorkflow.run,
        start,
        id=start.return_id,
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        **search_attributes.shown_from_start(start),
    )
    if written := submitted_lines(body):  # a write (SQLite's one write lock) only when there is something to keep
        async with request.app.state.database.transaction() as session:
            await submissions.save_submission(session, start.return_id, start.order.customer_id, written)
    try:
        view: ReturnView = await temporal.execute_update_with_start_workflow(
            DECISION, start_workflow_operation=operation
        )
    except WorkflowUpdateFailedError as failure:
        if written:
            await _forget_submission(request, start.return_id)
        raise await explain_update_failure(temporal, start.return_id, failure) from None
    except WorkflowAlreadyStartedError:
        return await _already_created(request, start.return_id)
    except RPCError as error:
        if written:
            await _forget_submission(request, start.return_id)
        raise problem_for_rpc_error(error) from None
    # The audit entry was written with the return's first row, by its workflow (StartReturn.requested_by). The
    # photos' ids never reach Temporal (only placeholders do): their return is noted here.
    if body.evidence_ids:
        async with request.app.state.database.transaction() as session:
            await evidence.mark_used(session, body.evidence_ids, start.return_id)
    return view


async def _forget_submission(request: Request, return_id: str) -> None:
    async with request.app.state.database.transaction() as session:
        await submissions.forget_submission(session, return_id)


async def _already_created(request: Request, return_id: str) -> ReturnView:
    """The return a retried request made the first time (its workflow has since ended)."""
    async with request.app.state.database.sessions() as session:
        view = await returns.get_return(session, return_id)
    if view is None:
        raise Problem(422, "this request was already refused; send a new Idempotency-Key to try again")
    return view


class ReturnWithMoney(ReturnView):
    money: list[MoneyLine] = Field(
        default_factory=list,
        description="The ledger rows: refunds, store credit (each with its credit note), fees, deposits.",
    )
    customer_notes: list[SubmittedLine] = Field(
        default_factory=list, description="What the customer wrote and attached, per line (erased on request)."
    )


@router.get("/{return_id}", response_model=ReturnWithMoney)
async def get_return(
    return_id: ReturnId, request: Request, caller: Annotated[Caller, Depends(allow("service", "operator", "customer"))]
) -> ReturnWithMoney:
    # The read a storefront polls: one statement, no session or transaction around it (store.db.Database.reading).
    async with request.app.state.database.reading() as connection:
        stored = await returns.stored_return(connection, return_id)
    refuse_unless_visible(return_id, stored.customer_id if stored else None, caller)
    assert stored is not None
    # Validated once, from the stored JSON (not into a view, dumped, and validated again with the money).
    return ReturnWithMoney.model_validate(
        {**stored.document, "money": stored.money, "customer_notes": stored.submitted_lines}
    )


@router.post("/{return_id}/dispute", status_code=201, response_model=TicketView)
async def dispute_return(
    return_id: ReturnId,
    body: DisputeRequest,
    request: Request,
    caller: Annotated[Caller, Depends(allow("service", "customer"))],
) -> TicketView:
    """The customer disagrees with how an ended return was settled: a ticket for an operator. 409 unless ended."""
    return await return_acts.dispute_return(request.app.state.database, caller, return_id, body.message)


@router.get("/{return_id}/progress", response_model=ReturnProgress)
async def return_progress(
    return_id: ReturnId, session: Session, caller: Annotated[Caller, Depends(allow("service", "operator", "customer"))]
) -> ReturnProgress:
    """The progress bar a storefront shows, along the return's own path: each node done, current (what the
    return works towards now), upcoming or skipped (never reached: it stopped), with when it was reached.
    Labels are English; ``key`` is what a storefront translates."""
    return ReturnProgress(nodes=progress(await visible_return(session, return_id, caller)))


@router.post("/{return_id}/survey", status_code=201, response_model=AnsweredSurvey)
async def answer_return_survey(
    return_id: ReturnId,
    body: SurveyAnswer,
    request: Request,
    caller: Annotated[Caller, Depends(allow("service", "customer"))],
) -> AnsweredSurvey:
    """How the customer found an ended return, 1–5 with a comment: once per return (409 before it has ended or
    once answered). A score of 2 or less opens a ``negative_feedback`` ticket, named in ``ticket_id``."""
    return await answer_survey(request.app.state.database, caller, return_id, body)


@router.get("", response_model=ReturnPage)
async def list_returns(
    session: Session,
    caller: Annotated[Caller, Depends(allow("service", "operator", "customer"))],
    status: Status | None = None,
    order_id: Annotated[str | None, Query(max_length=128)] = None,
    customer_id: Annotated[str | None, Query(max_length=128)] = None,
    created_from: Timestamp | None = None,
    created_to: Timestamp | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> ReturnPage:
    """Newest first. Pass ``next_cursor`` back as ``cursor`` for the next page. A customer sees its own only."""
    if caller.customer_id is not None:
        if customer_id not in (None, caller.customer_id):
            return ReturnPage(items=[], next_cursor=None)
        customer_id = caller.customer_id
    where = returns.ReturnFilter(
        status=status.value if status else None,
        order_id=order_id,
        customer_id=customer_id,
        created_from=created_from,
        created_to=created_to,
    )
    try:
        items, next_cursor = await returns.list_returns(session, where, limit, cursor)
    except returns.BadCursor as bad:
        raise Problem(422, str(bad), [{"field": "cursor", "code": "invalid_cursor", "message": str(bad)}]) from None
    return ReturnPage(items=items, next_cursor=next_cursor)


@router.post("/{return_id}/cancel", response_model=ReturnView)
async def cancel_return(
    return_id: ReturnId,
    body: CancelRequest,
    request: Request,
    temporal: Temporal,
    caller: Annotated[Caller, Depends(allow("service", "customer"))],
) -> ReturnView:
    """Cancel before the parcel moves: the carrier booking is cancelled and the units released. 409 after."""
    return await return_acts.cancel_return(temporal, request.app.state.database, caller, return_id, body)


@router.post("/{return_id}/urge", status_code=202, response_model=UrgeAccepted)
async def urge_return(
    return_id: ReturnId,
    request: Request,
    temporal: Temporal,
    caller: Annotated[Caller, Depends(allow("service", "customer"))],
) -> UrgeAccepted:
    """The customer asks for the return to be hurried: its priority becomes high (operators' queues put it
    first), the review or inspection it waits for is due sooner (the policy's ``urge_sla_factor``), the
    timeline says so and operators are told. Once a day: 429 with ``Retry-After`` before; 409 once ended."""
    await return_acts.urge_return(temporal, request.app.state.database, caller, return_id)
    return UrgeAccepted(return_id=return_id, accepted=True)


@router.post("/{return_id}/review", response_model=ReturnView)
async def review_return(
    return_id: ReturnId,
    body: ReviewDecision,
    request: Request,
    temporal: Temporal,
    caller: Annotated[Caller, Depends(allow("operator"))],
) -> ReturnView:
    """Approve or reject a return waiting for review; 409 unless it is ``under_review``."""
    return await return_acts.review_return(temporal, request.app.state.database, caller, return_id, body)


@router.post("/{return_id}/inspection", response_model=ReturnView)
async def inspect_return(
    return_id: ReturnId,
    body: Inspection,
    request: Request,
    temporal: Temporal,
    caller: Annotated[Caller, Depends(allow("operator"))],
) -> ReturnView:
    """Record each line's condition and disposition; 409 unless the return is ``received``."""
    return await return_acts.inspect_return(temporal, request.app.state.database, caller, return_id, body)


@router.post("/{return_id}/resolve", response_model=ReturnView)
async def resolve_return(
    return_id: ReturnId,
    body: Resolution,
    request: Request,
    temporal: Temporal,
    caller: Annotated[Caller, Depends(allow("operator"))],
) -> ReturnView:
    """Take one of the actions the return's ``attention`` offers; the saga continues from where it stopped.

    409 when the action is not offered now (or the return needs nothing), 422 for an unknown action or a
    ``mark_refunded`` without its ``reference``. The attention's ticket is resolved with it.
    """
    async with request.app.state.database.sessions() as session:
        await visible_return(session, return_id, caller)
    return await resolve_attention(
        temporal, request.app.state.database, request.app.state.carrier, caller, return_id, body
    )
