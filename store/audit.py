"""The audit trail: who decided or did what, to a return or to the rules.

Each entry names its actor by role and id (``service`` or ``operator``: the API
key's id; ``customer``: the customer's id; ``system``: the CLI or the engine) and
the subject it is about (a return id, ``policy:<version>``, …). A return's
entries are read oldest first, a page at a time (``entries``; a bad cursor raises
``store.cursor.BadCursor``).
"""

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.cursor import BadCursor, decode, encode
from store.db import as_utc
from store.tables import AuditEntry

ActorRole = Literal["service", "operator", "customer", "system"]
ROLES: frozenset[str] = frozenset({"service", "operator", "customer", "system"})


class Actor(BaseModel):
    role: ActorRole
    id: str = Field(description="The API key's id for a service or an operator, the customer's id for a customer.")

    def __str__(self) -> str:
        return f"{self.role}:{self.id}"


def parse_actor(actor: str) -> Actor:
    """``"role:id"`` (as ``Caller.actor`` names a caller) as an ``Actor``; anything else is the system."""
    role, colon, actor_id = actor.partition(":")
    if colon and role in ROLES:
        return Actor(role=role, id=actor_id)  # type: ignore[arg-type]
    return Actor(role="system", id=actor)


async def record(session: AsyncSession, actor: Actor | str, action: str, subject: str, **details: Any) -> None:
    """Add an entry to the session's transaction. ``actor`` as an ``Actor``, or ``"role:id"``."""
    who = actor if isinstance(actor, Actor) else parse_actor(actor)
    session.add(
        AuditEntry(
            at=datetime.now(UTC),
            actor=str(who),
            actor_role=who.role,
            actor_id=who.id,
            action=action,
            subject=subject,
            details=details,
        )
    )


class AuditItem(BaseModel):
    at: datetime
    actor: Actor
    action: str = Field(description="What was done, e.g. `return.create`, `return.review`, `return.cancel`.")
    details: dict[str, Any]


def _after(cursor: str) -> int:
    """The entry id a cursor of this list holds (ids only grow: "after this id" is "later than this entry")."""
    [entry_id] = decode(cursor, 1)
    if not entry_id.isdigit():
        raise BadCursor()
    return int(entry_id)


async def entries(
    session: AsyncSession, subject: str, limit: int, cursor: str | None
) -> tuple[list[AuditItem], str | None]:
    """The entries about ``subject``, oldest first, ``limit`` at a time; and the cursor of the next page."""
    query = select(AuditEntry).where(AuditEntry.subject == subject)
    if cursor:
        query = query.where(AuditEntry.id > _after(cursor))
    rows = (await session.scalars(query.order_by(AuditEntry.id).limit(limit + 1))).all()
    page = rows[:limit]
    items = [
        AuditItem(
            at=as_utc(row.at),
            actor=Actor(role=row.actor_role, id=row.actor_id),  # type: ignore[arg-type]
            action=row.action,
            details=row.details,
        )
        for row in page
    ]
    return items, encode(str(page[-1].id)) if len(rows) > limit else None
