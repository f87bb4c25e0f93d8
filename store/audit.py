"""The audit trail: actions that bend or change the rules."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from store.tables import AuditEntry


async def record(session: AsyncSession, actor: str, action: str, subject: str, **details: Any) -> None:
    session.add(AuditEntry(at=datetime.now(UTC), actor=actor, action=action, subject=subject, details=details))
