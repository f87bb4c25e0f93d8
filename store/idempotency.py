"""Idempotency keys: who answered a creating POST first, and what the answer was.

A key is claimed with an ``INSERT … ON CONFLICT DO NOTHING`` on the primary key
``(scope, key)``, so under any concurrency the database decides who is first
(SQLite serialises the writers; PostgreSQL's unique index makes the others wait
and then do nothing). The winner runs the request and stores the response
(``finish``) or gives the key back (``release``) when there is nothing worth
replaying. A claim is taken over when its row has expired (the key is new
again) or when its lease has lapsed: the request holding it renews
``leased_until`` while it runs (``renew``), so a lapsed lease means the process
that held it died before it could finish or release it.
"""

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, delete, or_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from store.db import Database, as_utc
from store.tables import IdempotencyKey

IN_FLIGHT = "in_flight"
DONE = "done"
# Header names never contain ":", so this entry of ``response_headers`` can't collide with one.
_BODY_ENCODING = ":body-encoding"


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Claimed:
    """This request holds the key; ``token`` identifies the claim for ``finish``/``release``."""

    token: datetime


@dataclass(frozen=True)
class InFlight:
    """Another request with this key has not answered yet."""


@dataclass(frozen=True)
class Mismatch:
    """The key was first used for a different request (method, path or body)."""


@dataclass(frozen=True)
class Replay:
    response: StoredResponse


ClaimOutcome = Claimed | InFlight | Mismatch | Replay


def _rowcount(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount


async def claim(
    database: Database,
    scope: str,
    key: str,
    *,
    method: str,
    path: str,
    request_hash: str,
    ttl: timedelta,
    lock_timeout: timedelta,
    now: datetime | None = None,
) -> ClaimOutcome:
    """Claim ``key`` for ``scope``, or say why not (in flight, used for another request, answered)."""
    # Both SQLite and PostgreSQL keep microseconds, so the token we write compares equal to what we read back.
    now = now or datetime.now(UTC)
    values: dict[str, Any] = dict(
        method=method,
        path=path[:512],
        request_hash=request_hash,
        state=IN_FLIGHT,
        response_status=None,
        response_headers=None,
        response_body=None,
        created_at=now,
        expires_at=now + ttl,
        leased_until=now + lock_timeout,
    )
    insert = postgresql_insert if database.engine.dialect.name == "postgresql" else sqlite_insert
    for _ in range(3):
        async with database.transaction() as session:
            inserted = await session.execute(
                insert(IdempotencyKey)
                .values(scope=scope, key=key, **values)
                .on_conflict_do_nothing(index_elements=[IdempotencyKey.scope, IdempotencyKey.key])
            )
        if _rowcount(inserted) == 1:
            return Claimed(now)
        # Expired: the key is new again. In flight with the same request and a lapsed lease: its holder died
        # (rows claimed before leases were renewed have none: they lapse a lock timeout after their claim).
        async with database.transaction() as session:
            taken = await session.execute(
                update(IdempotencyKey)
                .where(
                    IdempotencyKey.scope == scope,
                    IdempotencyKey.key == key,
                    or_(
                        IdempotencyKey.expires_at <= now,
                        and_(
                            IdempotencyKey.state == IN_FLIGHT,
                            IdempotencyKey.request_hash == request_hash,
                            or_(
                                IdempotencyKey.leased_until < now,
                                and_(
                                    IdempotencyKey.leased_until.is_(None),
                                    IdempotencyKey.created_at < now - lock_timeout,
                                ),
                            ),
                        ),
                    ),
                )
                .values(**values)
            )
        if _rowcount(taken) == 1:
            return Claimed(now)
        async with database.sessions() as session:
            row = await session.get(IdempotencyKey, (scope, key))
        if row is None or as_utc(row.expires_at) <= now:
            continue  # released or expired between our statements: try again
        if row.request_hash != request_hash:
            return Mismatch()
        if row.state == DONE and row.response_status is not None:
            return Replay(_load(row))
        return InFlight()
    return InFlight()


async def finish(database: Database, scope: str, key: str, token: datetime, response: StoredResponse) -> bool:
    """Store the answer to replay; False if the claim was lost (taken over) in the meantime."""
    headers: dict[str, Any] = dict(response.headers)
    try:
        body = response.body.decode("utf-8")
    except UnicodeDecodeError:
        body, headers[_BODY_ENCODING] = base64.b64encode(response.body).decode("ascii"), "base64"
    async with database.transaction() as session:
        stored = await session.execute(
            update(IdempotencyKey)
            .where(*_held(scope, key, token))
            .values(
                state=DONE,
                response_status=response.status,
                response_headers=headers,
                response_body=body,
                leased_until=None,
            )
        )
    return _rowcount(stored) == 1


async def renew(
    database: Database, scope: str, key: str, token: datetime, lease: timedelta, *, now: datetime | None = None
) -> bool:
    """Extend the claim's lease to ``lease`` from now; False if the claim was lost (finished, released, taken)."""
    now = now or datetime.now(UTC)
    async with database.transaction() as session:
        renewed = await session.execute(
            update(IdempotencyKey).where(*_held(scope, key, token)).values(leased_until=now + lease)
        )
    return _rowcount(renewed) == 1


async def release(database: Database, scope: str, key: str, token: datetime) -> None:
    """Give the key back (the request failed in a way a retry may fix)."""
    async with database.transaction() as session:
        await session.execute(delete(IdempotencyKey).where(*_held(scope, key, token)))


def _held(scope: str, key: str, token: datetime) -> tuple[ColumnElement[bool], ...]:
    """The row of this claim, while it is still in flight."""
    return (
        IdempotencyKey.scope == scope,
        IdempotencyKey.key == key,
        IdempotencyKey.state == IN_FLIGHT,
        IdempotencyKey.created_at == token,
    )


def _load(row: IdempotencyKey) -> StoredResponse:
    headers = dict(row.response_headers or {})
    text = row.response_body or ""
    body = base64.b64decode(text) if headers.pop(_BODY_ENCODING, None) == "base64" else text.encode("utf-8")
    return StoredResponse(status=cast(int, row.response_status), headers=headers, body=body)
