"""The sandbox partners' state: one SQLite table per resource, each row a JSON document.

``path=None`` keeps everything in memory (gone when the process ends); a file path
makes the state survive a restart. One connection, shared by every request and
guarded by a lock: a ``with store.transaction():`` block is atomic, so an
idempotency check and the insert that follows cannot interleave with another call.
"""

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

RESOURCES = (
    "shipments",
    "refunds",
    "intakes",
    "store_credits",
    "notifications",
    "revocations",
    "intercepts",
    "reservations",
    "variants",
    "payment_requests",
    "authorizations",
    "promotions",
    "drop_off_tokens",
    "carrier_webhooks",
)


class Store:
    def __init__(self, path: str | None = None) -> None:
        self.path = path
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path or ":memory:", check_same_thread=False, isolation_level=None)
        with self._lock:
            for table in RESOURCES:
                self._conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {table} ("
                    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                    " id TEXT NOT NULL UNIQUE,"
                    " idempotency_key TEXT UNIQUE,"
                    " reference TEXT,"
                    " data TEXT NOT NULL)"
                )
            self._conn.execute("CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, quantity INTEGER NOT NULL)")

    @contextmanager
    def transaction(self) -> Iterator["Store"]:
        """Hold the lock and commit everything written inside the block at once (or nothing)."""
        with self._lock:
            if self._conn.in_transaction:  # nested: the outer block commits
                yield self
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def get(self, table: str, record_id: str) -> dict[str, Any] | None:
        return self._one(f"SELECT data FROM {_table(table)} WHERE id = ?", record_id)

    def get_by_key(self, table: str, idempotency_key: str) -> dict[str, Any] | None:
        return self._one(f"SELECT data FROM {_table(table)} WHERE idempotency_key = ?", idempotency_key)

    def insert(self, table: str, record_id: str, record: dict[str, Any]) -> None:
        """Add a record; its ``idempotency_key`` and ``reference`` fields are indexed."""
        with self.transaction():
            self._conn.execute(
                f"INSERT INTO {_table(table)} (id, idempotency_key, reference, data) VALUES (?, ?, ?, ?)",
                (record_id, record.get("idempotency_key"), record.get("reference"), json.dumps(record)),
            )

    def update(self, table: str, record_id: str, record: dict[str, Any]) -> None:
        with self.transaction():
            self._conn.execute(f"UPDATE {_table(table)} SET data = ? WHERE id = ?", (json.dumps(record), record_id))

    def records(self, table: str, reference: str | None = None) -> list[dict[str, Any]]:
        sql = f"SELECT data FROM {_table(table)}"
        params: tuple[str, ...] = ()
        if reference is not None:
            sql += " WHERE reference = ?"
            params = (reference,)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY seq", params).fetchall()
        return [json.loads(row[0]) for row in rows]

    def add_stock(self, sku: str, quantity: int) -> None:
        with self.transaction():
            self._conn.execute(
                "INSERT INTO stock (sku, quantity) VALUES (?, ?)"
                " ON CONFLICT(sku) DO UPDATE SET quantity = quantity + excluded.quantity",
                (sku, quantity),
            )

    def take_stock(self, sku: str, quantity: int) -> bool:
        """Remove ``quantity`` units if that many are there; False (and nothing taken) otherwise."""
        with self.transaction():
            taken = self._conn.execute(
                "UPDATE stock SET quantity = quantity - ? WHERE sku = ? AND quantity >= ?", (quantity, sku, quantity)
            )
            return taken.rowcount == 1

    def stock(self) -> dict[str, int]:
        with self._lock:
            rows = self._conn.execute("SELECT sku, quantity FROM stock ORDER BY sku").fetchall()
        return {sku: quantity for sku, quantity in rows}

    def reset(self) -> None:
        with self.transaction():
            for table in (*RESOURCES, "stock"):
                self._conn.execute(f"DELETE FROM {table}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _one(self, sql: str, *params: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(sql, params).fetchone()
        return json.loads(row[0]) if row else None


def _table(name: str) -> str:
    # Table names are interpolated into SQL, so only the known ones are allowed.
    if name not in RESOURCES:
        raise ValueError(f"unknown resource {name!r}")
    return name
