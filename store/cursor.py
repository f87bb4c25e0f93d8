"""The cursor of every keyset-paginated list: opaque to callers, its parts inside.

A list ordered by (created_at, id…) hands out ``encode_keyset(last.created_at,
last.id…)`` as ``next_cursor``; the next call reads it back with
``decode_keyset(cursor, ids=…)``. Anything else than a cursor the API handed out
(for that list) raises ``BadCursor``, which the API answers with 422
``invalid_cursor``.
"""

import base64
from datetime import datetime

from domain.clock import as_utc

SEPARATOR = "|"  # never part of an id (ids are generated: ``ret_<hex>``, ``evt_<hex>``, ``whe_<hex>``)


class BadCursor(ValueError):
    def __init__(self) -> None:
        super().__init__("cursor is not one this API handed out")


def encode(*parts: str) -> str:
    return base64.urlsafe_b64encode(SEPARATOR.join(parts).encode()).decode()


def decode(cursor: str, count: int) -> list[str]:
    """The ``count`` parts of ``cursor``; ``BadCursor`` unless it holds exactly that many."""
    try:
        parts = base64.urlsafe_b64decode(cursor.encode()).decode().split(SEPARATOR)
    except ValueError:  # not base64 (binascii.Error), not UTF-8 (UnicodeDecodeError)
        raise BadCursor() from None
    if len(parts) != count:
        raise BadCursor()
    return parts


def encode_keyset(created_at: datetime, *ids: str) -> str:
    """The cursor after a row ordered by (``created_at``, ``ids``…)."""
    return encode(as_utc(created_at).isoformat(), *ids)


def decode_keyset(cursor: str, ids: int) -> tuple[datetime, list[str]]:
    """The (UTC ``created_at``, ``ids`` ids) an ``encode_keyset`` cursor holds; ``BadCursor`` for anything else."""
    created, *keys = decode(cursor, 1 + ids)
    try:
        return as_utc(datetime.fromisoformat(created)), keys
    except ValueError:
        raise BadCursor() from None
