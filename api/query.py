"""Parameter types shared by routes."""

from domain.wire import Timestamp

# RFC 3339 date-time, as the contract says times are: 2026-01-31T12:00:00Z, …T12:00:00.5+02:00; pydantic
# alone would also take a number of seconds since 1970 (``?created_from=1063969038``). See domain/wire.py.
__all__ = ["Timestamp"]
