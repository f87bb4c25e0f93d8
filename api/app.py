"""The FastAPI application: ``uvicorn api.app:create_app --factory``."""

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import structlog
from fastapi import Depends, FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.client import Client

from api.credentials_first import install_credentials_first
from api.idempotency import IdempotencyMiddleware
from api.key_cache import KeyCache
from api.limits import BodySizeLimit, limit_creation
from api.openapi import install_openapi
from api.problems import DatabaseTrouble, document_problems, install_problem_handlers
from api.request_log import RequestLog
from api.routes import (
    api_keys,
    audit,
    carrier_events,
    codec,
    customer_sessions,
    customers,
    evidence,
    logistics,
    metrics,
    operations,
    orders,
    policy,
    returns,
    tickets,
    webhooks,
)
from api.text_guard import refuse_nul_characters
from assist.reasons import warm as warm_reason_scorer
from connectors.carrier import HttpCarrier
from connectors.catalog import HttpCatalog
from console.app import install_console
from returnflow.logging import configure_logging
from returnflow.metrics import SdkMetrics
from returnflow.settings import Settings, get_settings
from returnflow.temporal import TemporalUnreachable, wait_for_temporal
from returnflow.tracing import instrument_app, instrument_http, start_tracing
from store.db import Database
from store.evidence_files import FolderEvidenceFiles


def create_app(
    settings: Settings | None = None, *, temporal: Client | None = None, database: Database | None = None
) -> FastAPI:
    """Build the app. Tests pass their own Temporal client and database; a server makes its own."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owns_database = database is None
        app.state.settings = settings
        app.state.database = database or Database(
            settings.effective_database_url, pool_size=settings.database_pool_size
        )
        app.state.api_keys = KeyCache(settings.api_key_cache_seconds)
        # One Temporal client per process, shared by every request; None while it is connecting (api/deps.py).
        # Its SDK metrics join GET /metrics.
        app.state.sdk_metrics = None if temporal else SdkMetrics()
        app.state.temporal = temporal
        connecting = None if temporal else asyncio.create_task(connect_in_background(app, settings))
        app.state.readiness = {
            "database": app.state.database.ping,
            "temporal": operations.temporal_reachable(lambda: app.state.temporal),
        }
        # The reason-suggestion model, loaded now rather than in the first return's request.
        await asyncio.to_thread(warm_reason_scorer)
        if temporal is None:
            # A server's process: what start-up made (the modules, the model) stays for its life. Out of the
            # collector's sight, a full collection walks only what requests made instead of pausing every
            # request for the whole app. (Tests' apps share their process with everything else: not there.)
            gc.collect()
            gc.freeze()
        # The order system's catalog, asked about an exchange's replacements before the policy decides.
        async with instrument_http(httpx.AsyncClient(timeout=settings.partner_timeout_seconds)) as partner_http:
            app.state.catalog = HttpCatalog(partner_http, settings.sandbox_url)
            # The carrier, asked which pickup slots it offers before a pickup return is decided.
            app.state.carrier = HttpCarrier(partner_http, settings.sandbox_url)
            app.state.evidence_files = FolderEvidenceFiles(settings.evidence_folder)
            yield
        if connecting is not None:
            connecting.cancel()
        if owns_database:
            await app.state.database.dispose()

    if temporal is None:
        configure_logging(settings.log_level, settings.log_format)
        start_tracing(settings, "returnflow-api")
    app = FastAPI(
        title="returnflow",
        version="1.0.0",
        summary="Returns, refunds and exchanges as durable Temporal workflows.",
        lifespan=lifespan,
        dependencies=[Depends(limit_creation), Depends(refuse_nul_characters)],
        # One schema per model, for requests and answers alike: generated clients get one class per model.
        separate_input_output_schemas=False,
    )
    install_problem_handlers(app)
    install_credentials_first(app)
    # The last added runs first: log → body size limit → database trouble (503) → Idempotency-Key → routes.
    app.add_middleware(
        IdempotencyMiddleware,
        ttl=timedelta(hours=settings.idempotency_ttl_hours),
        lock_timeout=timedelta(seconds=settings.idempotency_lock_seconds),
    )
    app.add_middleware(DatabaseTrouble)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        max_bytes_by_path={evidence.router.prefix: settings.evidence_max_bytes + evidence.MULTIPART_ENVELOPE_BYTES},
    )
    app.add_middleware(RequestLog)
    # Temporal UI calls the codec server from the browser: CORS for its origin, on /codec only.
    app.add_middleware(
        CORSOnPath,
        prefix=codec.router.prefix + "/",
        allow_origins=settings.temporal_ui_origins,
        allow_methods=["POST"],
        allow_headers=codec.CORS_HEADERS,
        allow_credentials=True,
        max_age=600,
    )
    routers = (
        orders,
        returns,
        audit,
        customer_sessions,
        customers,
        evidence,
        carrier_events,
        logistics,
        policy,
        tickets,
        webhooks,
        api_keys,
        codec,
        metrics,
    )
    for module in routers:
        app.include_router(module.router)
    app.include_router(operations.router)
    install_console(app)
    document_problems(app)
    install_openapi(app)
    instrument_app(app, untraced_paths=operations.OPERATIONS_PATHS)
    return app


async def connect_in_background(app: FastAPI, settings: Settings) -> None:
    """The API serves while Temporal is away (reads, the console's pages): retry until connected, for as long as
    the process runs; what needs Temporal answers 503 meanwhile. Settings that cannot work are logged and left."""
    try:
        app.state.temporal = await wait_for_temporal(
            settings, give_up_after=None, runtime=app.state.sdk_metrics.runtime
        )
    except TemporalUnreachable as error:
        structlog.get_logger().error(f"the API cannot use Temporal: {error}")
        return
    structlog.get_logger().info("connected to Temporal", temporal=settings.temporal_address)


class CORSOnPath:
    """Starlette's CORS middleware, applied to the paths under ``prefix`` and to no other."""

    def __init__(self, app: ASGIApp, /, prefix: str, **options: Any) -> None:
        self.app = app
        self.prefix = prefix
        self.cors = CORSMiddleware(app, **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
