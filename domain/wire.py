"""How values look on the wire, exactly as the served OpenAPI document describes them.

Pydantic's lax mode would take ``"3"`` or ``true`` for an integer, a number of
seconds for a time and the year 9999 (which overflows as soon as a time zone or
a window is added to it). At the edge of the API a value is taken only in the
form its JSON Schema gives, and each of these types carries that schema:

- ``Timestamp``: an RFC 3339 date-time with a time zone, years 1970 to 8999.
- ``WebUrl``/``WebLink``: an absolute ``http(s)`` URL without credentials or fragment.
- ``json_integer``/``json_boolean``: integers and booleans as JSON writes them (``StrictModel`` checks them).
"""

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, HttpUrl, WithJsonSchema

# ---- times -------------------------------------------------------------------

_YEAR = "(19[7-9][0-9]|[2-8][0-9]{3})"
_DATE = f"{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
_OFFSET = "([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
TIMESTAMP_PATTERN = f"^{_DATE}[Tt]{_TIME}{_OFFSET}$"
_TIMESTAMP = re.compile(TIMESTAMP_PATTERN)
# The instants a Timestamp may name: its UTC form stays within the years of the pattern, so a time the API
# answers with (in UTC) reads back, and adding a window of days to one never overflows.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _timestamp_text(value: Any) -> Any:
    """Refuse what pydantic would otherwise read as a time: a number of seconds, a bare date, no zone."""
    if isinstance(value, str) and not _TIMESTAMP.match(value):
        raise ValueError(
            "must be an RFC 3339 date-time with a time zone between the years 1970 and 8999, e.g. 2026-01-31T12:00:00Z"
        )
    if isinstance(value, int | float):
        raise ValueError("must be an RFC 3339 date-time string, not a number")
    return value


def _timestamp_range(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError("must be between 1970-01-01T00:00:00Z and 9000-01-01T00:00:00Z")
    return value


Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_timestamp_text),
    AfterValidator(_timestamp_range),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": TIMESTAMP_PATTERN}),
]
"""An RFC 3339 date-time with a zone (``2026-01-31T12:00:00Z``), from 1970 to 8999."""


# ---- links -------------------------------------------------------------------

_LABEL = "[A-Za-z0-9]+(-[A-Za-z0-9]+)*"
_TOP_LABEL = "[A-Za-z]([A-Za-z0-9]*(-[A-Za-z0-9]+)*)?"
_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_HOST = rf"(({_LABEL}\.)*{_TOP_LABEL}\.?|({_OCTET}\.){{3}}{_OCTET})"
_PORT = "(:([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
_CHARACTER = "([A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})"
_PATH = f"(/{_CHARACTER}*)?"
_QUERY = rf"(\?({_CHARACTER}|\?)*)?"
WEB_URL_PATTERN = f"^[Hh][Tt][Tt][Pp][Ss]?://{_HOST}{_PORT}{_PATH}{_QUERY}$"
WEB_URL_MAX_LENGTH = 2048
_WEB_URL = re.compile(WEB_URL_PATTERN)
WEB_URL_SCHEMA = {
    "type": "string",
    "format": "uri",
    "minLength": 8,
    "maxLength": WEB_URL_MAX_LENGTH,
    "pattern": WEB_URL_PATTERN,
    "description": "An absolute http:// or https:// URL, without user name, password or #fragment.",
}


def _web_url(value: Any) -> Any:
    if isinstance(value, str) and (len(value) > WEB_URL_MAX_LENGTH or not _WEB_URL.match(value)):
        raise ValueError(
            f"must be an absolute http:// or https:// URL (host name or IPv4 address, no credentials, "
            f"no #fragment, at most {WEB_URL_MAX_LENGTH} characters)"
        )
    return value


WebUrl = Annotated[str, BeforeValidator(_web_url), WithJsonSchema(WEB_URL_SCHEMA)]
"""An absolute http(s) URL kept as the caller wrote it (webhook endpoints)."""
WebLink = Annotated[HttpUrl, BeforeValidator(_web_url), WithJsonSchema(WEB_URL_SCHEMA)]
"""The same URLs, parsed (evidence links)."""


# ---- numbers and booleans ----------------------------------------------------


def json_integer(value: Any) -> bool:
    """Whether ``value`` may be read as an integer: ``true`` and ``"3"`` may not (``3.0`` may: one kind of number)."""
    return not isinstance(value, bool | str)


def json_boolean(value: Any) -> bool:
    """Whether ``value`` may be read as a boolean: only ``true`` and ``false`` (pydantic would take ``"yes"``)."""
    return value is None or isinstance(value, bool)


__all__ = [
    "EARLIEST",
    "LATEST",
    "TIMESTAMP_PATTERN",
    "WEB_URL_PATTERN",
    "Timestamp",
    "WebLink",
    "WebUrl",
    "json_boolean",
    "json_integer",
]
