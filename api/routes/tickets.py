"""Tickets: what needs a person — failed refunds, reconciliation mismatches, SLA breaches, disputes."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from api import ticket_resolution
from api.auth import Caller, allow
from api.deps import Session, Temporal
from domain.attention import AttentionAction
from domain.orders import StrictModel
from store import tickets
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
    temporal: Temporal,
    caller: Annotated[Caller, Depends(allow("operator"))],
) -> TicketView:
    """Resolve a ticket. A ticket of a return's attention is resolved by acting on the return: name the
    ``action`` (409 without one while the return still waits for it)."""
    return await ticket_resolution.resolve_ticket(
        temporal,
        request.app.state.database,
        request.app.state.carrier,
        caller,
        ticket_id,
        body.resolution,
        body.action,
        body.reference,
    )
