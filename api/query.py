"""Parameter types shared by routes."""

import re
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator

# RFC 3339 date-time, as the contract says times are: 2026-01-31T12:00:00Z, …T12:00:00.5+02:00.
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339(value: Any) -> Any:
    """Pydantic would also take a number of seconds since 1970 (``?created_from=1063969038``); refuse it."""
    if isinstance(value, str) and not RFC3339.match(value):
        raise ValueError("must be an RFC 3339 date-time with a time zone, e.g. 2026-01-31T12:00:00Z")
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]
