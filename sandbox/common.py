"""Pieces the sandbox routers share: store and fault lookups, ids and timestamps."""

import secrets
import string
from datetime import UTC, datetime

from fastapi import Request

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
