"""The one-trip SQLite driver (``store/sqlite_driver.py``) answers as SQLAlchemy's own aiosqlite adapter does."""

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from store.db import Database
from store.sqlite_driver import OneTripCursor


async def test_rows_counts_row_ids_and_errors_come_back_as_from_sqlite(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    try:
        async with database.transaction() as session:
            connection = await session.connection()
            raw = await connection.get_raw_connection()
            assert raw.dbapi_connection is not None and isinstance(raw.dbapi_connection.cursor(), OneTripCursor)
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
            inserted = await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
            assert inserted.lastrowid == 1
            await connection.execute(text("INSERT INTO t (name) VALUES (:name)"), [{"name": "b"}, {"name": "c"}])
            updated = await connection.execute(text("UPDATE t SET name = name || '!' WHERE id > 1"))
            assert updated.rowcount == 2
        async with database.sessions() as session:
            rows = (await session.execute(text("SELECT id, name FROM t ORDER BY id"))).all()
            assert [tuple(row) for row in rows] == [(1, "a"), (2, "b!"), (3, "c!")]
            assert (await session.execute(text("SELECT name FROM t WHERE id = 9"))).first() is None
        with pytest.raises(IntegrityError):
            async with database.transaction() as session:
                await session.execute(text("INSERT INTO t (name) VALUES ('a')"))
        async with database.sessions() as session:
            assert await session.scalar(text("SELECT count(*) FROM t")) == 3
    finally:
        await database.dispose()
