"""The sandbox partners service: carrier, payment provider, warehouse, promotions and the rest in one FastAPI app.

It stands in for a merchant's systems during development, demos and tests, the
way a payment provider's test mode does: real HTTP, its own state (in SQLite,
or in memory) and fault injection under ``/sandbox``.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox import (
    carrier,
    carrier_counters,
    catalog,
    exchange_payments,
    faults,
    fulfilment,
    intercepts,
    notifications,
    payments,
    promotions,
    reservations,
    warehouse,
)
from sandbox.errors import SandboxError
from sandbox.state import Store

log = structlog.get_logger()

_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 415: "unsupported_media_type"}


def create_app(db_path: str | None = None, carrier_webhook: tuple[str, str] | None = None) -> FastAPI:
    """Build the service; ``db_path`` is a SQLite file that keeps state across restarts (None: in memory);
    ``carrier_webhook`` (url, secret): where the carrier posts its signed scans."""
    store = Store(db_path)
    if carrier_webhook is not None:
        carrier_counters.subscribe_webhook(store, *carrier_webhook)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info("sandbox_started", db_path=db_path or ":memory:")
        yield
        store.close()
        log.info("sandbox_stopped")

    app = FastAPI(title="returnflow sandbox partners", version="1", lifespan=lifespan)
    app.state.store = store
    app.state.faults = faults.Faults()

    app.include_router(carrier.router)
    app.include_router(carrier_counters.router)
    app.include_router(payments.router)
    app.include_router(exchange_payments.router)
    app.include_router(catalog.router)
    app.include_router(warehouse.router)
    app.include_router(notifications.router)
    app.include_router(fulfilment.router)
    app.include_router(intercepts.router)
    app.include_router(reservations.router)
    app.include_router(promotions.router)
    app.include_router(faults.router)

    @app.get("/health", tags=["sandbox"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    _install_error_handlers(app)
    return app


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, **extra}, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SandboxError)
    async def sandbox_error(request: Request, exc: SandboxError) -> JSONResponse:
        log.info("sandbox_refused", path=request.url.path, status=exc.status, code=exc.code)
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(part) for part in err.get("loc", ())], "message": str(err.get("msg", ""))}
            for err in exc.errors()
        ]
        summary = "; ".join(f"{'.'.join(e['loc'])}: {e['message']}" for e in errors) or "invalid request"
        return _error(422, "invalid_request", summary, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        return _error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("sandbox_error", path=request.url.path)
        return _error(500, "internal_error", "the sandbox failed unexpectedly")
