"""Tickets: what needs a person — failed refunds, reconciliation mismatches, SLA breaches, disputes."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from api.attention import resolve_attention
from api.auth import Caller, allow
from api.deps import Session, Temporal
from api.problems import Problem
from domain.attention import AttentionAction, Resolution
from domain.orders import StrictModel
from store import audit, returns, tickets
from store.tickets import TicketView

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])


class TicketPage(BaseModel):
    items: list[TicketView]


class TicketResolution(StrictModel):
    resolution: str = Field(min_length=1, max_length=2000, description="What was done, in words.")
    action: AttentionAction | None = Field(
        None,
        description="For a ticket of a return's attention: the action to take on the return, as "
        "POST /v1/returns/{id}/resolve takes it (the return's workflow then resolves this ticket).",
    )
    reference: str = Field("", max_length=200, description="With mark_refunded: the payment made outside.")


@router.get("", response_model=TicketPage, dependencies=[Depends(allow("service", "operator"))])
async def list_tickets(
    session: Session,
    status: Literal["open", "resolved"] | None = None,
    return_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> TicketPage:
    """Newest first."""
    return TicketPage(items=await tickets.list_tickets(session, status, return_id, limit))


@router.post("/{ticket_id}/resolve", response_model=TicketView)
async def resolve_ticket(
    ticket_id: Annotated[str, Path(max_length=40)],
    body: TicketResolution,
    request: Request,
    session: Session,
    temporal: Temporal,
    caller: Annotated[Caller, Depends(allow("operator"))],
) -> TicketView:
    """Resolve a ticket. A ticket of a return's attention is resolved by acting on the return: name the
    ``action`` (409 without one while the return still waits for it)."""
    ticket = await tickets.get_ticket(session, ticket_id)
    if ticket is None:
        raise Problem(404, f"no ticket {ticket_id}")
    if body.action is not None:
        if ticket.return_id is None:
            raise Problem(409, "this ticket belongs to no return; resolve it without an action")
        resolution = Resolution(action=body.action, note=body.resolution, reference=body.reference)
        database = request.app.state.database
        await resolve_attention(temporal, database, caller, ticket.return_id, resolution)
        async with database.sessions() as fresh:  # the workflow resolved the ticket meanwhile
            resolved = await tickets.get_ticket(fresh, ticket_id)
        assert resolved is not None
        return resolved
    if ticket.status == "open" and ticket.return_id is not None:
        view = await returns.get_return(session, ticket.return_id)
        if view is not None and view.attention is not None and view.attention.reason == ticket.kind:
            offered = ", ".join(view.attention.actions)
            raise Problem(409, f"the return waits for one of its actions: give action ({offered})")
    resolved_ticket = await tickets.resolve_ticket(session, ticket_id, body.resolution)
    assert resolved_ticket is not None
    await audit.record(session, caller.actor, "ticket.resolve", ticket_id, resolution=body.resolution)
    return resolved_ticket
