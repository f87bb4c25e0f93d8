"""Pieces the sandbox routers share: store and fault lookups, ids and timestamps."""

import secrets
import string
from datetime import UTC, datetime
from typing import Any

from fastapi import Request

from sandbox.errors import key_reused
from sandbox.faults import Faults
from sandbox.state import Store


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_faults(request: Request) -> Faults:
    faults: Faults = request.app.state.faults
    return faults


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def random_code(length: int, alphabet: str = string.ascii_uppercase + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def create_once(
    store: Store, table: str, idempotency_key: str, fields: dict[str, Any], id_prefix: str
) -> tuple[dict[str, Any], bool]:
    """Create the record for ``idempotency_key`` once: (record, created).

    The same key with the same ``fields`` returns the first record; with other
    fields it is refused (``idempotency_key_reused``).
    """
    with store.transaction():
        existing = store.get_by_key(table, idempotency_key)
        if existing is not None:
            if any(existing.get(name) != value for name, value in fields.items()):
                raise key_reused(idempotency_key)
            return existing, False
        record = {
            f"{table.rstrip('s')}_id": new_id(id_prefix),
            **fields,
            "idempotency_key": idempotency_key,
            "created_at": utc_now(),
        }
        store.insert(table, record[f"{table.rstrip('s')}_id"], record)
        return record, True
