"""SQLite through aiosqlite with one trip to its thread per statement.

aiosqlite runs sqlite3 in a thread of its own; SQLAlchemy's adapter asks that
thread for a cursor, then to execute, then to fetch the rows, then to close
the cursor: three or four trips per statement, each a future, a wake-up of
the event loop and a wait for its next turn. A write transaction holds
SQLite's one write lock through all of them, and under load every writer of
every process queues for that lock (``store/writer_turns.py``).

Here a statement is one function run in aiosqlite's thread (execute, fetch,
close), and the cursor the adapter hands SQLAlchemy holds what came back.
It uses aiosqlite's queue as SQLAlchemy's own adapter does (its private
``_execute`` and ``_conn``); every test on SQLite runs over it. In alternating
runs of ``./scripts/bench --worker-process`` it took returns/s from 9.2–9.4 to
10.4–10.7.
"""

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT

# What one trip brings back: the description, the rows, the row count and the last row id.
_Outcome = tuple[Any, list[Any], int, int | None]


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        return description, cursor.fetchall() if description else [], cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor with no sqlite3 cursor of its own: each execute is one trip, and its results wait here."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._trip(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> None:
        await self._trip(operation, seq_of_parameters, many=True)

    async def _trip(self, operation: Any, parameters: Any, *, many: bool) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        async with self._adapt_connection._execute_mutex:
            outcome: _Outcome = await connection._execute(_run, connection._conn, operation, parameters, many)
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)

    async def _async_soft_close(self) -> None:
        """Nothing is open in the driver's thread between trips."""

    def close(self) -> None:
        self._rows.clear()


class _OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor  # type: ignore[assignment]  # a subclass; mypy reads the base's as exact


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """What ``create_async_engine(..., module=OneTripDBAPI())`` makes SQLAlchemy's aiosqlite dialect use."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        # aiosqlite's connection as SQLAlchemy opens it (its thread a daemon), in the adapter with our cursor
        return _OneTripConnection(self, super().connect(*arg, **kw)._connection)
