"""The one cursor codec of the keyset lists (store/cursor.py)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from store import returns
from store.cursor import BadCursor, decode, decode_keyset, encode, encode_keyset

CREATED = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def test_parts_round_trip() -> None:
    assert decode(encode("a", "b", "c"), 3) == ["a", "b", "c"]


def test_a_keyset_cursor_round_trips_in_utc() -> None:
    assert decode_keyset(encode_keyset(CREATED, "ret_1"), ids=1) == (CREATED, ["ret_1"])
    assert decode_keyset(encode_keyset(CREATED, "evt_1", "whe_1"), ids=2) == (CREATED, ["evt_1", "whe_1"])
    elsewhere = CREATED.astimezone(timezone(timedelta(hours=-5)))
    assert encode_keyset(elsewhere, "ret_1") == encode_keyset(CREATED, "ret_1")
    naive = decode_keyset(encode("2026-03-01T12:00:00.123456", "ret_1"), ids=1)
    assert naive == (CREATED, ["ret_1"]), "a naive time is UTC"


def test_the_cursor_is_what_the_lists_always_handed_out() -> None:
    """Cursors given out before the codec was shared still work."""
    assert encode_keyset(CREATED, "ret_1") == "MjAyNi0wMy0wMVQxMjowMDowMC4xMjM0NTYrMDA6MDB8cmV0XzE="


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "nonsense",
        "",
        "%%%",
        encode("not a time", "ret_1"),
        encode_keyset(CREATED),  # too few parts
        encode_keyset(CREATED, "evt_1", "whe_1"),  # too many
        "gA==",  # not UTF-8
    ],
)
def test_anything_else_is_one_bad_cursor(cursor: str) -> None:
    with pytest.raises(BadCursor, match="cursor is not one this API handed out"):
        decode_keyset(cursor, ids=1)


def test_bad_cursor_is_a_value_error_and_store_returns_still_names_it() -> None:
    assert issubclass(BadCursor, ValueError)
    assert returns.BadCursor is BadCursor
