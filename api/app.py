"""The FastAPI application: ``uvicorn api.app:create_app --factory``."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from temporalio.client import Client

from api.problems import install_problem_handlers
from api.request_log import log_requests
from api.routes import carrier_events, orders, policy, returns
from returnflow.logging import configure_logging
from returnflow.settings import Settings, get_settings
from returnflow.temporal import connect
from store.db import Database


def create_app(settings: Settings | None = None, *, temporal: Client | None = None,
               database: Database | None = None) -> FastAPI:
    """Build the app. Tests pass their own Temporal client and database; a server makes its own."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owns_database = database is None
        app.state.settings = settings
        app.state.database = database or Database(settings.effective_database_url)
        # One Temporal client per process, shared by every request.
        app.state.temporal = temporal or await connect(settings)
        yield
        if owns_database:
            await app.state.database.dispose()

    if temporal is None:
        configure_logging(settings.log_level, settings.log_format)
    app = FastAPI(
        title="returnflow",
        version="1.0.0",
        summary="Returns, refunds and exchanges as durable Temporal workflows.",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    app.middleware("http")(log_requests)
    for module in (orders, returns, carrier_events, policy):
        app.include_router(module.router)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
