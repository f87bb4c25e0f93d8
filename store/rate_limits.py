"""Rate limits every API process shares: a token bucket per (limit, caller), kept in the database.

A bucket is one number, ``full_at``: when it would be full again (seconds since the epoch). A
bucket of ``burst`` tokens refilled one every ``interval`` seconds has ``(full_at - now) / interval``
tokens missing, so a request may take one while ``full_at <= now + (burst - 1) * interval``, and
taking one moves ``full_at`` on by one interval from ``max(full_at, now)`` (the "generic cell rate
algorithm": the same answers as counting tokens, with one column to update).

The test and the move are one conditional ``UPDATE``, so under any concurrency the database
decides: SQLite serialises writers, and PostgreSQL re-checks the ``WHERE`` on the row version it
locked. The clock is the API process's wall clock; processes whose clocks disagree by a second
see buckets a second fuller or emptier, which a limit counted per minute can live with.
"""

import time
from dataclasses import dataclass

import structlog
from sqlalchemy import case, delete, update
from sqlalchemy.exc import DBAPIError

from store.db import Database, upserting_insert
from store.tables import RateBucket

log = structlog.get_logger()

# A bucket full for this long is forgotten when a new caller's bucket is made (nothing is lost: absent is full).
FORGET_FULL_AFTER_SECONDS = 3600.0


@dataclass(frozen=True)
class Rate:
    """``per_minute`` requests a minute per caller, after a first ``burst`` at once."""

    name: str
    per_minute: float
    burst: int

    @property
    def interval(self) -> float:
        return 60.0 / self.per_minute


async def take(database: Database, rate: Rate, caller: str, *, now: float | None = None) -> float:
    """Take a token from ``caller``'s bucket: 0 if there was one, else the seconds until there will be."""
    now = time.time() if now is None else now
    tolerance = (max(rate.burst, 1) - 1) * rate.interval
    async with database.transaction() as session:
        created = await session.execute(
            upserting_insert(session)(RateBucket)
            .values(limit_name=rate.name, caller=caller, full_at=now)
            .on_conflict_do_nothing(index_elements=[RateBucket.limit_name, RateBucket.caller])
        )
        taken = await session.execute(
            update(RateBucket)
            .where(
                RateBucket.limit_name == rate.name,
                RateBucket.caller == caller,
                RateBucket.full_at <= now + tolerance,
            )
            .values(full_at=case((RateBucket.full_at > now, RateBucket.full_at), else_=now) + rate.interval)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            wait = 0.0
        else:
            bucket = await session.get(RateBucket, (rate.name, caller))
            wait = max(0.0, bucket.full_at - now - tolerance) if bucket is not None else 0.0
    if created.rowcount == 1:  # type: ignore[attr-defined]
        await _forget_full(database, rate, now)
    return wait


async def _forget_full(database: Database, rate: Rate, now: float) -> None:
    """Delete the buckets of ``rate`` that have been full for a while, so the table holds the active callers.

    Best effort, in a transaction of its own: a failure leaves them for the next new caller."""
    try:
        async with database.transaction() as session:
            await session.execute(
                delete(RateBucket).where(
                    RateBucket.limit_name == rate.name, RateBucket.full_at < now - FORGET_FULL_AFTER_SECONDS
                )
            )
    except DBAPIError as error:
        log.warning("could not forget full rate buckets", limit=rate.name, error=str(error))
