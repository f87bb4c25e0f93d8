"""Versioned return policies; version 1 is the shipped default."""

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.policy import DEFAULT_POLICY, Policy
from store.tables import PolicyVersion


async def current_policy(session: AsyncSession) -> tuple[int, Policy]:
    """The newest policy version; the default (version 1) when none was ever saved."""
    row = await session.scalar(select(PolicyVersion).order_by(PolicyVersion.version.desc()).limit(1))
    if row is None:
        return 1, DEFAULT_POLICY
    return row.version, Policy.model_validate(row.document)


async def save_policy(session: AsyncSession, policy: Policy) -> int:
    """Store ``policy`` as the next version and return that version."""
    latest = await session.scalar(select(func.max(PolicyVersion.version)))
    version = (latest or 1) + 1
    session.add(PolicyVersion(version=version, document=policy.model_dump(mode="json"), created_at=datetime.now(UTC)))
    return version


async def policy_version(session: AsyncSession, version: int) -> Policy:
    """A given version; version 1 is the default when it was never stored."""
    row = await session.get(PolicyVersion, version)
    return Policy.model_validate(row.document) if row else DEFAULT_POLICY
