"""Group commit: the writes that arrive while one is being written share the next transaction.

On SQLite every write transaction holds the database's one write lock, and most
of what a return worker's write costs is not SQLite's work but the turn around
it: the wait for its turn, ``BEGIN IMMEDIATE``, ``COMMIT``, each a trip to the
driver's thread and a wait for the event loop and the GIL of a busy worker.
Here a write (``write(fn)``, ``fn`` what it does with a session) joins a
queue; one writer at a time takes everything queued (up to ``most``), makes
each write in one transaction and commits once, then answers every caller.
Nobody waits for a batch to fill: a write that finds no batch being written
starts one at once.

Each write is still all or nothing: when the batch's transaction fails, its
writes are made again one transaction each, so one bad write fails alone and
the others commit. A caller is answered only once its write is committed.
A caller that is cancelled meanwhile stops waiting, but its write, already in
the batch, may still be made: the writes batched here must be idempotent.

On PostgreSQL writers do not queue for one lock, and a batch would hold the
row locks of many returns until its commit: there each write is made in a
transaction of its own, as without batches.

Measured in ``./scripts/bench --worker-process`` on SQLite with the worker's
saves batched (up to 8): returns/s 9.4–9.8 → 10.9.
"""

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from store.db import Database

Result = TypeVar("Result")

# A write: what it does in the transaction it is given, and its result.
Write = Callable[[AsyncSession], Awaitable[Result]]
_Queued = tuple[Write[Any], asyncio.Future[Any]]


class WriteBatches:
    """Writes made, on SQLite, in shared transactions of up to ``most`` writes."""

    def __init__(self, database: Database, *, most: int) -> None:
        self._database = database
        self._most = most
        self._queue: list[_Queued] = []
        self._writer: asyncio.Task[None] | None = None

    async def write(self, write: Write[Result]) -> Result:
        """``write(session)``'s result, once the transaction holding it committed."""
        if not self._database.is_sqlite:
            return await self._alone(write)
        written: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append((write, written))
        if self._writer is None:
            # In a context of its own: the first caller's (its activity, its log fields) is not the batch's.
            self._writer = asyncio.create_task(self._write_queued(), context=contextvars.Context())
        return await written

    async def _alone(self, write: Write[Result]) -> Result:
        async with self._database.transaction() as session:
            return await write(session)

    async def _write_queued(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[: self._most], self._queue[self._most :]
                try:
                    await self._write_batch(batch)
                except BaseException:
                    for _, written in batch:
                        written.cancel()
                    raise
        finally:
            for _, written in self._queue:  # only when this task itself was cancelled (the worker stopping)
                written.cancel()
            self._queue = []
            self._writer = None

    async def _write_batch(self, batch: list[_Queued]) -> None:
        if len(batch) > 1:
            try:
                async with self._database.transaction() as session:
                    results = [await write(session) for write, _ in batch]
            except Exception:  # which write failed is found by making them one by one
                pass
            else:
                for (_, written), result in zip(batch, results, strict=True):
                    _answer(written, result)
                return
        for write, written in batch:
            try:
                result = await self._alone(write)
            except Exception as failure:  # its own caller raises it
                _answer(written, failure=failure)
            else:
                _answer(written, result)


def _answer(written: asyncio.Future[Any], result: Any = None, *, failure: Exception | None = None) -> None:
    """Give a write's caller its result or failure, unless it stopped waiting (its future is then done)."""
    if written.done():
        return
    if failure is not None:
        written.set_exception(failure)
    else:
        written.set_result(result)
