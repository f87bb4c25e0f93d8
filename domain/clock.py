"""Moments in time: everything returnflow stores and compares is UTC."""

from datetime import UTC, datetime


def as_utc(moment: datetime) -> datetime:
    """The same moment, UTC-aware; a naive datetime (SQLite hands those back) is taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
