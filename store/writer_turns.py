"""The queue for SQLite's one write lock, in front of ``BEGIN IMMEDIATE``.

SQLite lets one transaction write at a time. One that finds the lock taken
sleeps in SQLite's busy handler, in growing steps of up to 100 ms, and tries
again: it may sleep on long after the lock is free, while a newcomer takes it
first. Under load (the worker's read-model writes and the API's own) the API's
writes waited hundreds of milliseconds that way.

So a writer queues first, and starts the moment the one before it ends:

- within a process, on an asyncio lock;
- between processes (the API's, the worker's), on an advisory ``flock`` of a
  file beside the database (``<database>-writers``). A writer that finds it
  taken waits in a thread, which the kernel wakes when it is released.

A ``flock`` belongs to an open file description, so each turn opens the file
anew: two ``Database`` objects of one process queue as two processes would.
SQLite's own lock still decides for writers that do not queue here (another
program, a transaction that takes the lock at its first write).
"""

import asyncio
import fcntl
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import OperationalError


class WriterTurns:
    """One process's queue for the write lock of the SQLite file at ``database_path``.

    A writer that has not had its turn after ``timeout_s`` fails as SQLite would after its busy timeout
    ("database is locked", which the API answers with a 503 and an activity retries).
    """

    def __init__(self, database_path: str | None, *, timeout_s: float) -> None:
        self._in_process = asyncio.Lock()
        self._lock_file = f"{database_path}-writers" if database_path else None
        self._timeout_s = timeout_s

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        async with self._in_process:
            if self._lock_file is None:  # an in-memory database belongs to this process alone
                yield
                return
            descriptor = os.open(self._lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            await self._lock(descriptor)
            try:
                yield
            finally:
                os.close(descriptor)  # which lets the lock go

    async def _lock(self, descriptor: int) -> None:
        """Lock the file open at ``descriptor``; when that fails, the descriptor is closed (by the waiting
        thread once it has the lock, if it had to wait: a thread cannot be stopped)."""
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            waiting = asyncio.ensure_future(asyncio.to_thread(fcntl.flock, descriptor, fcntl.LOCK_EX))
        except BaseException:
            os.close(descriptor)
            raise
        try:
            await asyncio.wait_for(asyncio.shield(waiting), self._timeout_s)
        except BaseException as stopped:
            waiting.add_done_callback(lambda _: os.close(descriptor))
            if isinstance(stopped, TimeoutError):
                locked = sqlite3.OperationalError("database is locked")
                raise OperationalError("BEGIN IMMEDIATE", None, locked) from None
            raise
