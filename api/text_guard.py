"""Text with NUL characters is refused (422) before any route sees it.

PostgreSQL cannot store U+0000 in text or JSONB: a NUL that got past validation
would be a 500 when a query uses it, or worse, an activity retrying forever on
the read model it cannot write. No field of this API has a use for it, so
query parameters, path parameters and JSON bodies carrying one are refused here,
for every route, with the offending field named: a ``RequestValidationError``, so that the caller's
credentials are checked first (``api/credentials_first.py``), as for any other invalid field.
``/openapi.json`` says so: every such string has the pattern ``^[^\\u0000]*$`` (``api/openapi.py``).

The codec server (``/codec/``) stores nothing; it is not guarded.
"""

import json
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

NUL = "\x00"
CODE = "nul_character"
MESSAGE = "text may not contain NUL (U+0000) characters"
# Paths whose requests may carry NUL characters.
UNGUARDED_PREFIXES = ("/codec/",)


def _refuse(field: str) -> RequestValidationError:
    return RequestValidationError([{"type": CODE, "loc": (field.replace(NUL, "\\u0000") or "body",), "msg": MESSAGE}])


def _find_nul(value: Any, where: str) -> str | None:
    """The dotted path of the first string (or key) in ``value`` holding a NUL, or None."""
    if isinstance(value, str):
        return where if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if NUL in str(key):
                return path
            found = _find_nul(item, path)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _find_nul(item, f"{where}.{index}" if where else str(index))
            if found is not None:
                return found
    return None


FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


async def refuse_nul_characters(request: Request) -> None:
    """App-wide dependency (runs after routing, before the route's own dependencies)."""
    if request.url.path.startswith(UNGUARDED_PREFIXES):
        return
    for name, value in request.query_params.multi_items():
        if NUL in name or NUL in value:
            raise _refuse(name)
    for name, value in request.path_params.items():
        if isinstance(value, str) and NUL in value:
            raise _refuse(name)
    if request.method in ("POST", "PUT", "PATCH") and request.headers.get("content-type", "").startswith(FORMS):
        # The console's forms: parsed once by Starlette and cached on the request.
        for field, entry in (await request.form()).multi_items():
            if NUL in field or (isinstance(entry, str) and NUL in entry):
                raise _refuse(field)
    elif request.method in ("POST", "PUT", "PATCH"):
        body = await request.body()  # already read (and cached) by FastAPI
        # In JSON a NUL can only be written as the escape \u0000; parse only when it may be there.
        if b"\\u0000" in body:
            try:
                document = json.loads(body)
            except ValueError:
                return  # not JSON: the route's validation answers
            found = _find_nul(document, "")
            if found is not None:
                raise _refuse(found)
