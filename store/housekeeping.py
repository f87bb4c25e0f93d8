"""Queries of the scheduled housekeeping jobs: ledger reconciliation, the stuck-return sweep, drift repair."""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.returns import FINAL_STATUSES
from store.tables import LedgerEntry, ReturnRow

PAYOUT_KINDS = ("refund", "store_credit")


async def ledger_payouts(session: AsyncSession, since: datetime) -> list[LedgerEntry]:
    """Money paid out (refunds and store credits) recorded since ``since``."""
    return list(
        (
            await session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.kind.in_(PAYOUT_KINDS), LedgerEntry.created_at >= since)
                .order_by(LedgerEntry.id)
            )
        ).all()
    )


async def keys_in_ledger(session: AsyncSession, keys: Iterable[str]) -> set[str]:
    wanted = list(keys)
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        found.update(
            (
                await session.scalars(
                    select(LedgerEntry.idempotency_key).where(
                        LedgerEntry.idempotency_key.in_(wanted[start : start + 500])
                    )
                )
            ).all()
        )
    return found


async def open_returns(
    session: AsyncSession, after_id: str, limit: int, updated_before: datetime | None = None
) -> list[ReturnRow]:
    """Read-model rows of returns that have not ended, by id (keyset: pass the last id seen)."""
    query = select(ReturnRow).where(
        ReturnRow.status.not_in([status.value for status in FINAL_STATUSES]), ReturnRow.id > after_id
    )
    if updated_before is not None:
        query = query.where(ReturnRow.updated_at < updated_before)
    return list((await session.scalars(query.order_by(ReturnRow.id).limit(limit))).all())
