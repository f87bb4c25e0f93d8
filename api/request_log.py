"""One log line per request (not for the probes and scrapes), its latency by route, and a fresh logging context.

Routes that know the return bind ``return_id`` (and ``workflow_id``, the same
value) so every line they log carries it. A request that fails with an
unexpected exception gets its line too (status 500, the answer the error
handler then gives), before the exception goes on to that handler.

A plain ASGI middleware rather than Starlette's ``BaseHTTPMiddleware`` (``app.middleware("http")``):
that one runs the rest of the app in a task of its own and streams the answer through a memory
channel, which costs more than some whole requests (a read of one return) do.
"""

import secrets
import time
from collections.abc import MutableMapping
from typing import Any

import structlog
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.routes.operations import OPERATIONS_PATHS
from returnflow.metrics import API_REQUEST_DURATION

log = structlog.get_logger("api")
# The route label of a request that matched no route (a 404 or 405 of the router).
UNMATCHED = "unmatched"
REQUEST_ID = "x-request-id"


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        structlog.contextvars.clear_contextvars()
        request_id = (Headers(scope=scope).get(REQUEST_ID) or secrets.token_hex(8))[:64]
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(name, value) for name, value in message.get("headers", []) if name != REQUEST_ID.encode()]
                message = {**message, "headers": [*headers, (REQUEST_ID.encode(), request_id.encode("latin-1"))]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            _log_request(scope, 500, started, error=type(error).__name__)
            raise
        _log_request(scope, status, started)


def _log_request(scope: Scope, status: int, started: float, **fields: object) -> None:
    seconds = time.perf_counter() - started
    method, path = scope["method"], scope["path"]
    API_REQUEST_DURATION.labels(method=method, route=route_template(scope), status=str(status)).observe(seconds)
    if path in OPERATIONS_PATHS:  # asked every few seconds: timed, not logged
        return
    log.info("request", method=method, path=path, status=status, duration_ms=round(seconds * 1000, 1), **fields)


def route_template(scope: MutableMapping[str, Any]) -> str:
    """The matched route as declared (``/v1/returns/{return_id}``), never the raw path: one series per route."""
    return getattr(scope.get("route"), "path_format", None) or UNMATCHED


def bind_return(return_id: str) -> None:
    structlog.contextvars.bind_contextvars(return_id=return_id, workflow_id=return_id)
