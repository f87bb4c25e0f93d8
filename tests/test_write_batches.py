"""Writes arriving together share a transaction on SQLite; each stays all or nothing (store/write_batches.py)."""

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store import tickets
from store.db import Database
from store.tables import Ticket
from store.write_batches import Write, WriteBatches


class Refused(Exception):
    pass


async def open_ticket(session: AsyncSession, summary: str) -> str:
    """A real write of the store; a summary saying "refused" fails after writing, as a broken write would."""
    ticket = await tickets.open_ticket(session, kind="reconciliation", summary=summary)
    if "refused" in summary:
        raise Refused(summary)
    return ticket.id


def ticket(summary: str) -> Write[str]:
    return lambda session: open_ticket(session, summary)


@pytest.fixture
def transactions(database: Database, monkeypatch: pytest.MonkeyPatch) -> list[None]:
    """One entry per write transaction the database opens."""
    opened: list[None] = []
    transaction = database.transaction

    @asynccontextmanager
    async def counted(**options: object) -> AsyncIterator[AsyncSession]:
        opened.append(None)
        async with transaction(**options) as session:  # type: ignore[arg-type]
            yield session

    monkeypatch.setattr(database, "transaction", counted)
    return opened


async def stored(database: Database, summaries: list[str]) -> list[str]:
    async with database.sessions() as session:
        found = await session.scalars(select(Ticket.summary).where(Ticket.summary.in_(summaries)))
        return sorted(found)


async def test_writes_made_together_are_all_committed_in_fewer_transactions_on_sqlite(
    database: Database, transactions: list[None]
) -> None:
    batches = WriteBatches(database, most=8)
    summaries = [f"batched {secrets.token_hex(4)}" for _ in range(20)]

    ids = await asyncio.gather(*(batches.write(ticket(summary)) for summary in summaries))

    assert len(set(ids)) == 20
    assert await stored(database, summaries) == sorted(summaries)
    if database.is_sqlite:
        assert len(transactions) <= 20 // 8 + 2, "the first alone, then batches of up to 8"
    else:
        assert len(transactions) == 20


async def test_a_write_that_fails_fails_alone_and_the_others_of_its_batch_commit(database: Database) -> None:
    batches = WriteBatches(database, most=8)
    good = [f"good {secrets.token_hex(4)}" for _ in range(6)]
    bad = f"refused {secrets.token_hex(4)}"

    outcomes = await asyncio.gather(
        *(batches.write(ticket(summary)) for summary in [*good[:3], bad, *good[3:]]), return_exceptions=True
    )

    assert [type(outcome) for outcome in outcomes].count(Refused) == 1
    assert isinstance(outcomes[3], Refused)
    assert await stored(database, [*good, bad]) == sorted(good)


async def test_a_caller_that_stops_waiting_leaves_the_others_written(database: Database) -> None:
    batches = WriteBatches(database, most=8)
    summaries = [f"waited {secrets.token_hex(4)}" for _ in range(5)]
    writes = [asyncio.create_task(batches.write(ticket(summary))) for summary in summaries]
    await asyncio.sleep(0)
    writes[2].cancel()

    outcomes = await asyncio.gather(*writes, return_exceptions=True)

    assert isinstance(outcomes[2], asyncio.CancelledError)
    assert all(isinstance(outcome, str) for i, outcome in enumerate(outcomes) if i != 2)
    kept = await stored(database, summaries)
    assert set(kept) >= set(summaries) - {summaries[2]}, (
        "a write already queued may still be made: idempotent ones only"
    )


async def test_the_next_write_after_a_batch_starts_a_new_one(database: Database) -> None:
    batches = WriteBatches(database, most=8)
    first = await batches.write(ticket(f"first {secrets.token_hex(4)}"))
    second = await batches.write(ticket(f"second {secrets.token_hex(4)}"))
    assert first != second
    async with database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket).where(Ticket.id.in_([first, second]))) == 2
