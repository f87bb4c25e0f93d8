"""Limits on what one request, and one caller, may ask of the API.

- ``BodySizeLimit``: a body over ``max_body_bytes`` is refused with 413, whether
  its ``Content-Length`` says so up front or it streams past the limit.
- ``limit_creation``: a per-caller token bucket on the POSTs that create something
  (``CREATING_ROUTES``), answering 429 with ``Retry-After`` when it is empty.

The buckets are rows of the database (``store.rate_limits``), so behind any number
of API processes a caller gets the configured rate, not that rate per process.
"""

import math
import re

from fastapi import Request
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.idempotency import caller_scope
from api.problems import Problem, problem_response
from store import rate_limits

# Route templates (as declared) of the POSTs that create something.
CREATING_ROUTES = re.compile(
    r"/v1/(returns|webhook-endpoints|customer-sessions)|/v1/returns/\{[^/}]+\}/(dispute|survey)"
)
# The name of the creation rate's buckets in the database.
CREATION_LIMIT = "create"
# How much more than the limit we read (and discard) before answering 413, so the client gets to read the
# answer instead of a connection reset; past this the connection is simply closed after the answer.
DRAIN_BYTES = 1024 * 1024


class BodyTooLarge(HTTPException):
    """Raised while reading a body that has grown past the limit; answered as 413 problem+json."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit} bytes")


class BodySizeLimit:
    """``max_bytes`` for every body, except the paths in ``max_bytes_by_path`` (uploads) that have their own."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_bytes_by_path: dict[str, int] | None = None) -> None:
        self.app = app
        self.default_max_bytes = max_bytes
        self.max_bytes_by_path = max_bytes_by_path or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        max_bytes = self.max_bytes_by_path.get(scope.get("path", ""), self.default_max_bytes)
        if scope["type"] != "http" or max_bytes <= 0:
            await self.app(scope, receive, send)
            return
        declared = next((value for name, value in scope["headers"] if name == b"content-length"), None)
        if declared is not None:
            if not declared.isdigit():
                await problem_response(400, "Content-Length is not a number")(scope, receive, send)
                return
            if int(declared) > max_bytes:
                await _drain(receive, int(declared) <= max_bytes + DRAIN_BYTES)
                await problem_response(413, BodyTooLarge(max_bytes).detail)(scope, receive, send)
                return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    if message.get("more_body", False):
                        await _drain(receive, True, budget=DRAIN_BYTES)
                    raise BodyTooLarge(max_bytes)
            return message

        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, watched)
        except BodyTooLarge as too_large:
            if started:
                raise
            await problem_response(413, too_large.detail)(scope, receive, send)


async def _drain(receive: Receive, worth_it: bool, budget: int = DRAIN_BYTES) -> None:
    """Read and drop the rest of the body (up to ``budget`` bytes)."""
    if not worth_it:
        return
    drained = 0
    while drained <= budget:
        message = await receive()
        if message["type"] != "http.request":
            return
        drained += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def limit_creation(request: Request) -> None:
    """App-wide dependency: the creation rate limit, for the routes in ``CREATING_ROUTES`` only."""
    if request.method != "POST":
        return
    route = request.scope.get("route")
    if not CREATING_ROUTES.fullmatch(getattr(route, "path_format", "")):
        return
    settings = request.app.state.settings
    if settings.create_rate_per_minute <= 0:
        return
    who = await caller_scope(request.scope)
    if who is None:
        return  # the route's authentication answers 401
    rate = rate_limits.Rate(CREATION_LIMIT, settings.create_rate_per_minute, settings.create_rate_burst)
    wait = await rate_limits.take(request.app.state.database, rate, who)
    if wait > 0:
        raise Problem(
            429,
            f"too many creations; at most {settings.create_rate_per_minute:g} a minute "
            f"(bursts of {settings.create_rate_burst}) per caller",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
