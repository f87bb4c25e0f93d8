"""Engine and session factory; one ``Database`` per process.

On SQLite, SQLAlchemy says BEGIN itself instead of leaving it to the driver,
which starts a transaction only at the first write: what a transaction read
before it was read outside it (a read-then-write, such as a read-model write
checking the stored revision, could act on what another writer changed
meanwhile). How a transaction begins (``transaction(begin=…)``):

- ``"immediate"`` (the default: the activities, the idempotency store, the API's
  own writes): ``BEGIN IMMEDIATE``. The write lock is taken up front, so what the
  transaction reads stays true until it commits, and it is never refused the lock
  halfway (a deferred transaction that has read cannot wait for the lock: SQLite
  refuses it at once with "database is locked"). Keep these short, and never wait
  for a workflow inside one: the worker's writes would wait for it.
- ``"at_first_write"`` (the session of an API request that may write): reads run
  outside a transaction, each seeing what is committed (as PostgreSQL's READ
  COMMITTED does), and ``BEGIN IMMEDIATE`` comes just before the first write. A
  route may read, wait for a workflow and then write without holding the lock
  while it waits. What must not change between a read and a write is locked
  (``FOR UPDATE`` on PostgreSQL) or written first.
- ``"deferred"`` (``sessions()``, reads): a plain ``BEGIN``; under WAL it reads
  one snapshot and never waits for writers.

Every write waits for the lock up to the busy timeout, long enough for a queue
of writers under load. On PostgreSQL all three are the server's usual BEGIN.

The ``"immediate"`` transactions take turns before their BEGIN IMMEDIATE
(``store/writer_turns.py``): in a queue of their own, within a process and
between processes, each starts the moment the one before commits, instead of
sleeping in SQLite's busy handler. In ``./scripts/bench --worker-process`` on
SQLite, queueing between processes too took a create's p50 from 630 to 370 ms
and returns/s from 8.4 to 9.3.
"""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any, Literal

from sqlalchemy import event, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from domain.clock import as_utc
from store.sqlite_driver import OneTripDBAPI
from store.writer_turns import WriterTurns

# as_utc: SQLite hands back naive datetimes; everything we store is UTC
__all__ = ["Database", "as_utc", "redacted", "upserting_insert"]

Begin = Literal["immediate", "at_first_write", "deferred"]
BEGINS: tuple[Begin, ...] = ("immediate", "at_first_write", "deferred")
# How long a SQLite write waits for the write lock before "database is locked" (answered as 503). Each write
# transaction is short, but under load many queue for the one lock: this is the length of the queue it rides out.
SQLITE_BUSY_TIMEOUT_MS = 60_000
# The execution option that says how a SQLite transaction begins, and the connection's note that its BEGIN
# IMMEDIATE is still to come (at_first_write).
_SQLITE_BEGIN = "returnflow_sqlite_begin"
_BEGIN_PENDING = "returnflow_begin_pending"
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
# Connections a process keeps open (Settings.database_pool_size), and how many more a burst may open; those
# are closed as soon as they are given back. SQLAlchemy's default of 5 was below what one API process has in
# flight at 16 concurrent requests: at 32 concurrent GETs on PostgreSQL most requests opened a connection
# (a server process forked, authenticated and set up) and closed it again, 200 in 8 s.
POOL_SIZE = 20
POOL_OVERFLOW = 10


def _ping_outside_a_transaction(dbapi_connection: Any) -> bool:
    """The pool's pre-ping on asyncpg in one round trip instead of three.

    SQLAlchemy's asyncpg adapter wraps its ``;`` in BEGIN … ROLLBACK unless the connection is in autocommit
    (for PgBouncer's transaction pooling, sqlalchemy#10226); a connection being checked out is in no
    transaction, so it pings in autocommit and goes back to its own isolation level. Under 32 concurrent GETs
    these two and the read's own BEGIN and ROLLBACK (``Database.reading``) were about a quarter of an API
    process's CPU (py-spy)."""
    dbapi_connection.autocommit = True
    try:
        dbapi_connection.ping()
    finally:
        dbapi_connection.autocommit = False
    return True


def _sqlite_connect(busy_timeout_ms: int) -> Callable[[Any, Any], None]:
    def connect(dbapi_connection: Any, _record: Any) -> None:
        # No BEGIN from the driver: _sqlite_begin says it (sqlite3 still commits and rolls back).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL lets the API read while the worker writes; busy_timeout waits for the lock instead of failing.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return connect


def _sqlite_begin(connection: Connection) -> None:
    begin: Begin = connection.get_execution_options().get(_SQLITE_BEGIN, "deferred")
    connection.info[_BEGIN_PENDING] = begin == "at_first_write"
    if begin == "immediate":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif begin == "deferred":
        connection.exec_driver_sql("BEGIN")


def _sqlite_begin_before_writing(connection: Connection, cursor: Any, statement: str, *_: Any) -> None:
    if connection.info.get(_BEGIN_PENDING) and statement.lstrip()[:7].upper().startswith(_WRITES):
        connection.info[_BEGIN_PENDING] = False
        cursor.execute("BEGIN IMMEDIATE")


def _sqlite_transaction_ended(connection: Connection) -> None:
    connection.info[_BEGIN_PENDING] = False


class Database:
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = POOL_SIZE,
        sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
        **engine_options: Any,
    ):
        self.url = url
        parsed = make_url(url)
        on_sqlite = parsed.get_backend_name() == "sqlite"
        if not on_sqlite or _database_file(url) is not None:  # a pool of its own (one in memory has none)
            engine_options.setdefault("pool_size", pool_size)
            engine_options.setdefault("max_overflow", POOL_OVERFLOW)
        # pre-ping: a connection the server dropped while it sat in the pool is replaced before it is used. A
        # SQLite file has no server to drop it, and the ping would be a round trip to the driver's thread at
        # every checkout (about a millisecond of CPU, as much as a whole query).
        pre_ping = not on_sqlite
        if parsed.drivername == "sqlite+aiosqlite":
            engine_options.setdefault("module", OneTripDBAPI())
        self.engine: AsyncEngine = create_async_engine(url, pool_pre_ping=pre_ping, **engine_options)
        engines: dict[Begin, AsyncEngine] = dict.fromkeys(BEGINS, self.engine)
        if self.is_sqlite:
            sync_engine = self.engine.sync_engine
            event.listen(sync_engine, "connect", _sqlite_connect(sqlite_busy_timeout_ms))
            event.listen(sync_engine, "begin", _sqlite_begin)
            event.listen(sync_engine, "before_cursor_execute", _sqlite_begin_before_writing)
            event.listen(sync_engine, "commit", _sqlite_transaction_ended)
            event.listen(sync_engine, "rollback", _sqlite_transaction_ended)
            engines = {begin: self.engine.execution_options(**{_SQLITE_BEGIN: begin}) for begin in BEGINS}
        if parsed.drivername == "postgresql+asyncpg":
            self.engine.dialect.do_ping = _ping_outside_a_transaction  # type: ignore[method-assign]
        # Reads outside a transaction: on SQLite no BEGIN until a write; on PostgreSQL autocommit, so the adapter
        # says no BEGIN before the statement and no ROLLBACK when the connection goes back to the pool.
        self._reading_engine = (
            engines["at_first_write"] if on_sqlite else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        # The turns of the "immediate" SQLite transactions (the module docstring).
        self._immediate_turns = (
            WriterTurns(_database_file(url), timeout_s=sqlite_busy_timeout_ms / 1000) if self.is_sqlite else None
        )
        # For reading (a plain BEGIN on SQLite); transaction() for writing.
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._factories = {
            begin: async_sessionmaker(engine, expire_on_commit=False) for begin, engine in engines.items()
        }

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def transaction(self, *, begin: Begin = "immediate") -> AsyncIterator[AsyncSession]:
        """A session whose work is committed on success and rolled back on any error.

        ``begin`` says when it takes SQLite's write lock (the module docstring): up front, at its first
        write, or never (``"deferred"``, for a transaction that only reads).
        """
        async with self._turn_to_write(begin), self._factories[begin]() as session, session.begin():
            yield session

    def _turn_to_write(self, begin: Begin) -> AbstractAsyncContextManager[Any]:
        """Where a SQLite ``BEGIN IMMEDIATE`` waits for the one before it to end."""
        if self._immediate_turns is not None and begin == "immediate":
            return self._immediate_turns.turn()
        return nullcontext()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads outside any transaction: each statement sees what is committed when it runs
        (PostgreSQL in autocommit; on SQLite no BEGIN is said, as ``at_first_write`` before a write). For a read
        of one statement it is as consistent as a transaction and costs no BEGIN and ROLLBACK round trips."""
        async with self._reading_engine.connect() as connection:
            yield connection

    async def ping(self) -> None:
        """One round trip to the database (readiness): raises when it cannot answer."""
        async with self.sessions() as session:
            await session.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _database_file(url: str) -> str | None:
    """The file of a SQLite database; None for one in memory."""
    database = make_url(url).database
    return None if not database or database == ":memory:" or database.startswith("file::memory:") else database


def upserting_insert(session: AsyncSession) -> Callable[..., Any]:
    """``insert`` of the session's dialect: the one with ``on_conflict_do_nothing``/``on_conflict_do_update``."""
    return sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert


def redacted(url: str) -> str:
    """The database URL without its password, for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)
