"""Tickets: work for a person (failed refunds, mismatches, SLA breaches, disputes)."""

import secrets
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.tickets import TicketKind
from store.cursor import decode_keyset, encode_keyset
from store.db import as_utc
from store.tables import Ticket


class TicketView(BaseModel):
    id: str
    kind: TicketKind
    return_id: str | None
    status: str
    summary: str
    details: dict[str, Any]
    created_at: datetime
    resolved_at: datetime | None
    resolution: str | None


def _view(row: Ticket) -> TicketView:
    view = TicketView.model_validate(row, from_attributes=True)
    view.created_at = as_utc(view.created_at)
    view.resolved_at = as_utc(view.resolved_at) if view.resolved_at else None
    return view


async def open_ticket(
    session: AsyncSession,
    *,
    kind: TicketKind,
    summary: str,
    return_id: str | None = None,
    details: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> TicketView:
    """Open a ticket; with ``dedupe_key``, a second call for the same cause returns the first ticket."""
    if dedupe_key:
        existing = await session.scalar(select(Ticket).where(Ticket.dedupe_key == dedupe_key))
        if existing:
            return _view(existing)
    row = Ticket(
        id="tkt_" + secrets.token_hex(8),
        dedupe_key=dedupe_key,
        kind=kind,
        return_id=return_id,
        status="open",
        summary=summary[:500],
        details=details or {},
        created_at=datetime.now(UTC),
        resolved_at=None,
        resolution=None,
    )
    session.add(row)
    await session.flush()
    return _view(row)


async def list_tickets(
    session: AsyncSession,
    status: str | None,
    return_id: str | None,
    limit: int,
    *,
    kind: TicketKind | None = None,
    cursor: str | None = None,
) -> list[TicketView]:
    """Newest first, keyset-paginated on (created_at, id): ``cursor`` is ``ticket_cursor`` of the last one
    seen (``store.cursor.BadCursor`` for anything else)."""
    query = select(Ticket)
    for column, value in ((Ticket.status, status), (Ticket.return_id, return_id), (Ticket.kind, kind)):
        if value:
            query = query.where(column == value)
    if cursor:
        after_created, [after_id] = decode_keyset(cursor, ids=1)
        query = query.where(
            or_(Ticket.created_at < after_created, and_(Ticket.created_at == after_created, Ticket.id < after_id))
        )
    rows = (await session.scalars(query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit))).all()
    return [_view(row) for row in rows]


def ticket_cursor(ticket: TicketView) -> str:
    """Where the next page of ``list_tickets`` starts: after ``ticket``."""
    return encode_keyset(ticket.created_at, ticket.id)


async def resolve_ticket(session: AsyncSession, ticket_id: str, resolution: str) -> TicketView | None:
    row = await session.get(Ticket, ticket_id, with_for_update=True)
    if row is None:
        return None
    if row.status != "resolved":
        row.status, row.resolved_at, row.resolution = "resolved", datetime.now(UTC), resolution
    return _view(row)


async def resolve_ticket_by_key(session: AsyncSession, dedupe_key: str, resolution: str) -> None:
    """Resolve the ticket opened for ``dedupe_key`` (nothing happens when there is none or it is resolved)."""
    row = await session.scalar(select(Ticket).where(Ticket.dedupe_key == dedupe_key).with_for_update())
    if row is not None and row.status != "resolved":
        row.status, row.resolved_at, row.resolution = "resolved", datetime.now(UTC), resolution[:2000]


async def get_ticket(session: AsyncSession, ticket_id: str) -> TicketView | None:
    row = await session.get(Ticket, ticket_id)
    return _view(row) if row else None
