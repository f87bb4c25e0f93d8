"""API keys: shown once at creation, stored as a SHA-256 hash.

The keys are 256-bit random tokens, so a fast hash is enough (no password
stretching needed) and lets us look a key up by its hash in one query.
"""

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.tables import ApiKey

Role = Literal["service", "operator"]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_api_key(session: AsyncSession, role: Role, label: str = "") -> tuple[str, str]:
    """Returns (key id, the secret key); only the hash is stored."""
    key_id = "key_" + secrets.token_hex(8)
    secret = f"rf_{role[:3]}_{secrets.token_urlsafe(32)}"
    session.add(
        ApiKey(
            id=key_id, key_hash=hash_key(secret), role=role, label=label, created_at=datetime.now(UTC), revoked_at=None
        )
    )
    return key_id, secret


async def find_key(session: AsyncSession, secret: str) -> ApiKey | None:
    """The live key with this secret, or None (unknown or revoked)."""
    row = await session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(secret)))
    return None if row is None or row.revoked_at is not None else row


async def role_for_key(session: AsyncSession, secret: str) -> Role | None:
    row = await find_key(session, secret)
    return row.role if row else None  # type: ignore[return-value]


async def revoke_api_key(session: AsyncSession, key_id: str) -> bool:
    result = await session.execute(
        update(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)).values(revoked_at=datetime.now(UTC))
    )
    return result.rowcount == 1  # type: ignore[attr-defined]
