"""One log line per request (not for the probes and scrapes), its latency by route, and a fresh logging context.

Routes that know the return bind ``return_id`` (and ``workflow_id``, the same
value) so every line they log carries it. A request that fails with an
unexpected exception gets its line too (status 500, the answer the error
handler then gives), before the exception goes on to that handler.
"""

import secrets
import time
from collections.abc import Awaitable, Callable

import structlog
from fastapi import Request, Response

from api.routes.operations import OPERATIONS_PATHS
from returnflow.metrics import API_REQUEST_DURATION

log = structlog.get_logger("api")
# The route label of a request that matched no route (a 404 or 405 of the router).
UNMATCHED = "unmatched"


async def log_requests(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    structlog.contextvars.clear_contextvars()
    request_id = request.headers.get("x-request-id") or secrets.token_hex(8)
    structlog.contextvars.bind_contextvars(request_id=request_id[:64])
    started = time.perf_counter()

    def log_request(status: int, **fields: object) -> None:
        seconds = time.perf_counter() - started
        API_REQUEST_DURATION.labels(method=request.method, route=route_template(request), status=str(status)).observe(
            seconds
        )
        if request.url.path in OPERATIONS_PATHS:  # asked every few seconds: timed, not logged
            return
        duration_ms = round(seconds * 1000, 1)
        log.info(
            "request", method=request.method, path=request.url.path, status=status, duration_ms=duration_ms, **fields
        )

    try:
        response = await call_next(request)
    except Exception as error:
        log_request(500, error=type(error).__name__)
        raise
    log_request(response.status_code)
    response.headers["x-request-id"] = request_id[:64]
    return response


def route_template(request: Request) -> str:
    """The matched route as declared (``/v1/returns/{return_id}``), never the raw path: one series per route."""
    route = request.scope.get("route")
    return getattr(route, "path_format", None) or UNMATCHED


def bind_return(return_id: str) -> None:
    structlog.contextvars.bind_contextvars(return_id=return_id, workflow_id=return_id)
