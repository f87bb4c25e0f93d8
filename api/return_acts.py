"""A person's acts on a return — review, inspect, cancel, urge, dispute — as one use case each, for every face.

The REST routes (``POST /v1/returns/{id}/review|inspection|cancel|urge|dispute``), the operator
console and the customer's tracking page call these: each checks the caller may see the return, sends the workflow's
Update (``api/workflow_calls.update_return``: a refusal is a ``Problem``) and writes the
act to the audit trail with the caller as its actor. Resolving an attention is the same
kind of use case, in ``api/attention.py``. Who may call which is the face's business.
"""

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.audit import actor_of
from api.auth import Caller
from api.problems import Problem
from api.request_log import bind_return
from api.workflow_calls import update_return
from domain import tickets as tickets_domain
from domain.returns import CancelRequest, Inspection, ReturnView, ReviewDecision, dispute_refusal
from domain.urging import Urge
from store import audit, returns, tickets
from store.db import Database
from store.tickets import TicketView
from workflows.return_workflow import ReturnWorkflow


async def visible_return(session: AsyncSession, return_id: str, caller: Caller) -> ReturnView:
    """The return, if it exists and the caller may see it (a customer: its own); else 404."""
    view = await returns.get_return(session, return_id)
    refuse_unless_visible(return_id, view.customer_id if view else None, caller)
    assert view is not None
    return view


def refuse_unless_visible(return_id: str, customer_id: str | None, caller: Caller) -> None:
    """404 unless the return exists (``customer_id`` is its customer's, None when there is no such return) and
    the caller may see it (a customer: its own)."""
    bind_return(return_id)
    if customer_id is None or not caller.owns(customer_id):
        raise Problem(404, f"no return {return_id}")


async def _require_visible(database: Database, caller: Caller, return_id: str) -> None:
    async with database.sessions() as session:
        await visible_return(session, return_id, caller)


async def _audit(database: Database, caller: Caller, action: str, return_id: str, **details: object) -> None:
    """One entry in a transaction of its own, after the act itself has succeeded."""
    async with database.transaction() as session:
        await audit.record(session, actor_of(caller), action, return_id, **details)


async def review_return(
    temporal: Client, database: Database, caller: Caller, return_id: str, decision: ReviewDecision
) -> ReturnView:
    """Approve or reject a return waiting for review (409 unless it is ``under_review``)."""
    await _require_visible(database, caller, return_id)
    view = await update_return(temporal, return_id, ReturnWorkflow.review, decision)
    await _audit(
        database,
        caller,
        "return.review",
        return_id,
        decision=decision.decision,
        note=decision.note,
        status=view.status.value,
    )
    return view


async def inspect_return(
    temporal: Client, database: Database, caller: Caller, return_id: str, inspection: Inspection
) -> ReturnView:
    """Grade each line (409 unless the return is ``received``, 422 unless every line is graded once)."""
    await _require_visible(database, caller, return_id)
    view = await update_return(temporal, return_id, ReturnWorkflow.inspect, inspection)
    lines = [line.model_dump(mode="json") for line in inspection.lines]
    await _audit(database, caller, "return.inspect", return_id, lines=lines, status=view.status.value)
    return view


async def cancel_return(
    temporal: Client, database: Database, caller: Caller, return_id: str, request: CancelRequest
) -> ReturnView:
    """Cancel before the parcel moves: the booking is cancelled and the units released (409 after)."""
    await _require_visible(database, caller, return_id)
    view = await update_return(temporal, return_id, ReturnWorkflow.cancel, request)
    await _audit(database, caller, "return.cancel", return_id, status=view.status.value)
    return view


async def urge_return(temporal: Client, database: Database, caller: Caller, return_id: str) -> ReturnView:
    """Hurry the return along (429 when it was urged less than a day ago, 409 once it has ended)."""
    await _require_visible(database, caller, return_id)
    by = "customer" if caller.customer_id is not None else "service"
    view = await update_return(temporal, return_id, ReturnWorkflow.urge, Urge(by=by))
    await _audit(database, caller, "return.urge", return_id, status=view.status.value)
    return view


async def dispute_return(database: Database, caller: Caller, return_id: str, message: str) -> TicketView:
    """The customer disagrees with how an ended return was settled: a ticket for an operator (409 unless ended)."""
    async with database.transaction() as session:
        view = await visible_return(session, return_id, caller)
        refusal = dispute_refusal(view)
        if refusal:
            raise Problem(409, refusal)
        ticket = await tickets.open_ticket(
            session,
            kind="dispute",
            return_id=return_id,
            summary=message[:200],
            details={"message": message},
            dedupe_key=tickets_domain.dispute_key(return_id),
        )
        # The message is the customer's words: it stays on the ticket, the audit trail names the ticket.
        await audit.record(session, actor_of(caller), "return.dispute", return_id, ticket_id=ticket.id)
    return ticket
