"""Tickets: what needs a person — failed refunds, reconciliation mismatches, SLA breaches, disputes."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from api.auth import Caller, allow
from api.deps import Session
from api.problems import Problem
from domain.orders import StrictModel
from store import audit, tickets
from store.tickets import TicketView

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])


class TicketPage(BaseModel):
    items: list[TicketView]


class Resolution(StrictModel):
    resolution: str = Field(min_length=1, max_length=2000)


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
    body: Resolution,
    session: Session,
    caller: Annotated[Caller, Depends(allow("operator"))],
) -> TicketView:
    resolved = await tickets.resolve_ticket(session, ticket_id, body.resolution)
    if resolved is None:
        raise Problem(404, f"no ticket {ticket_id}")
    await audit.record(session, caller.actor, "ticket.resolve", ticket_id, resolution=body.resolution)
    return resolved
