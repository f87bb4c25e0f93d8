"""One log line per request, and a fresh logging context for each.

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

log = structlog.get_logger("api")


async def log_requests(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    structlog.contextvars.clear_contextvars()
    request_id = request.headers.get("x-request-id") or secrets.token_hex(8)
    structlog.contextvars.bind_contextvars(request_id=request_id[:64])
    started = time.perf_counter()

    def log_request(status: int, **fields: object) -> None:
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
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


def bind_return(return_id: str) -> None:
    structlog.contextvars.bind_contextvars(return_id=return_id, workflow_id=return_id)
