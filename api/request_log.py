"""One log line per request, and a fresh logging context for each.

Routes that know the return bind ``return_id`` (and ``workflow_id``, the same
value) so every line they log carries it.
"""

import secrets
import time
from collections.abc import Awaitable, Callable

import structlog
from fastapi import Request, Response

log = structlog.get_logger("api")


async def log_requests(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    structlog.contextvars.clear_contextvars()
    request_id = request.headers.get("x-request-id") or secrets.token_hex(8)
    structlog.contextvars.bind_contextvars(request_id=request_id[:64])
    started = time.perf_counter()
    response = await call_next(request)
    log.info(
        "request",
        method=request.method,
        path=request.url.path,
        status=response.status_code,
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
    )
    response.headers["x-request-id"] = request_id[:64]
    return response


def bind_return(return_id: str) -> None:
    structlog.contextvars.bind_contextvars(return_id=return_id, workflow_id=return_id)
