"""Shared fixtures: real databases, the real sandbox partners, real Temporal servers.

Database-backed tests run twice, on SQLite and on PostgreSQL (a fresh database
per run on the local server; set RETURNFLOW_TEST_POSTGRES_URL to use another).
When CI=true a missing PostgreSQL fails the run instead of skipping.
"""

import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import delete, update
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from messages.search_attributes import SEARCH_ATTRIBUTES
from returnflow.serve import serve_app
from returnflow.settings import Settings
from returnflow.temporal import data_converter
from returnflow.temporal_binaries import temporal_cli_path, test_server_path
from sandbox.app import create_app as create_sandbox_app
from store.api_keys import create_api_key
from store.db import Database
from store.migrate import upgrade_async
from store.tables import CustomerNotification, WebhookDelivery, WebhookEndpoint
from tests.api_client import Callers
from worker import build_worker

# The time-skipping workflow harness (its `client` fixture) and the browser harness (`page`, `console_stack`).
pytest_plugins = ["tests.workflow_harness", "tests.browser"]

POSTGRES_URL = os.environ.get("RETURNFLOW_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
# Payloads are encrypted (returnflow/codec.py): every test client, worker and replayer uses this fixed key,
# so histories recorded by the tests replay. Set here, before any Settings is read.
TEST_CODEC_KEYS = "test:pZmvRwajTVbCy7xbbVYHSpdQPP0vOV+U+IlbKAkrQOU="
os.environ["RETURNFLOW_CODEC_KEYS"] = TEST_CODEC_KEYS


@asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """Create a throw-away database on the PostgreSQL server and drop it afterwards."""
    name = "returnflow_test_" + secrets.token_hex(4)
    try:
        admin = await asyncpg.connect(POSTGRES_URL)
    except (OSError, asyncpg.PostgresError) as error:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and is not reachable at {POSTGRES_URL}: {error}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {error}")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base = POSTGRES_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@asynccontextmanager
async def migrated_database(backend: str, folder: Path) -> AsyncIterator[Database]:
    """A new, migrated app database on ``backend`` ("sqlite": a file in ``folder``, or "postgresql")."""
    async with AsyncExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{folder / 'returnflow.db'}"
        else:
            url = await stack.enter_async_context(fresh_postgres_database())
        await upgrade_async(url)
        db = Database(url)
        yield db
        await db.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Database]:
    """A migrated app database, once per backend per test session."""
    async with migrated_database(request.param, tmp_path_factory.mktemp("db")) as db:
        yield db


@pytest.fixture(scope="session")
async def sandbox_url() -> AsyncIterator[str]:
    """The sandbox partners, served over real HTTP (in memory)."""
    async with serve_app(create_sandbox_app()) as url:
        yield url


@pytest.fixture
async def sandbox(sandbox_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the sandbox; faults injected by a test are cleared after it."""
    async with httpx.AsyncClient(base_url=sandbox_url) as client:
        yield client
        await client.delete("/sandbox/faults")


@asynccontextmanager
async def started_time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server, with the return's search attributes registered."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter(), test_server_existing_path=test_server_path()
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in SEARCH_ATTRIBUTES
            },
        )
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    async with started_time_skipping_env() as env:
        yield env


@pytest.fixture(scope="session")
async def local_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (in memory): Update-with-Start, Schedules, visibility."""
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter(),
        dev_server_existing_path=temporal_cli_path(),
        dev_server_log_level="error",
        search_attributes=SEARCH_ATTRIBUTES,
    )
    yield env
    await env.shutdown()


async def forget_earlier_deliveries(database: Database) -> None:
    """Earlier tests (the fuzzing above all) leave webhook endpoints with unreachable URLs and customer
    notifications due in the shared database; a new worker's delivery runs would spend their time on them
    (slow connects, retries) instead of on the test's own."""
    async with database.transaction() as session:
        await session.execute(update(WebhookEndpoint).values(disabled_at=datetime.now(UTC)))
        await session.execute(delete(WebhookDelivery).where(WebhookDelivery.state == "pending"))
        await session.execute(delete(CustomerNotification).where(CustomerNotification.state == "pending"))


def settings_for(sandbox_url: str, database: Database) -> Settings:
    """The tests' receivers and the sandbox are on 127.0.0.1: webhooks may go there. A data folder of its own
    (evidence photos are kept there), never the repository's .data/."""
    return Settings(
        sandbox_url=sandbox_url,
        database_url=database.url,
        task_queue="returnflow-test-" + secrets.token_hex(4),
        webhook_allow_private_addresses=True,
        data_dir=Path(tempfile.mkdtemp(prefix="returnflow-test-data-")),
    )


@asynccontextmanager
async def running_worker(client: Client, settings: Settings, database: Database) -> AsyncIterator[Worker]:
    async with build_worker(client, settings, database) as worker, worker:
        yield worker


@pytest.fixture
async def api(local_env: WorkflowEnvironment, database: Database, sandbox_url: str) -> AsyncIterator[Callers]:
    async with serving_api(local_env.client, database, sandbox_url) as callers:
        yield callers


@asynccontextmanager
async def serving_api(temporal: Client, database: Database, sandbox_url: str) -> AsyncIterator[Callers]:
    """The app on a real port with a worker of its own, both on ``temporal``; its callers, with their keys."""
    settings = settings_for(sandbox_url, database)
    async with database.transaction() as session:
        _, service_key = await create_api_key(session, "service")
        _, operator_key = await create_api_key(session, "operator")
    app = create_app(settings, temporal=temporal, database=database)
    async with running_worker(temporal, settings, database), serve_app(app) as base_url:

        def client(key: str | None = None) -> httpx.AsyncClient:
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30)

        async with (
            client(service_key) as service,
            client(operator_key) as operator,
            client() as anonymous,
            httpx.AsyncClient(base_url=sandbox_url) as sandbox,
        ):
            yield Callers(service, operator, anonymous, sandbox, temporal, settings)


Run = Callable[[Any, Any], Awaitable[Any]]


@asynccontextmanager
async def housekeeping(client: Client, sandbox_url: str, database: Database) -> AsyncIterator[Run]:
    """Runs a housekeeping workflow now, on a worker of its own, as its schedule would."""
    settings = settings_for(sandbox_url, database)
    async with running_worker(client, settings, database):

        async def run(workflow: Any, arg: Any) -> Any:
            return await client.execute_workflow(
                workflow, arg, id="test-housekeeping-" + secrets.token_hex(6), task_queue=settings.task_queue
            )

        yield run


@pytest.fixture
async def housekeeper(local_env: WorkflowEnvironment, database: Database, sandbox_url: str) -> AsyncIterator[Run]:
    """Runs a housekeeping workflow now, as its schedule would (``housekeeping``)."""
    async with housekeeping(local_env.client, sandbox_url, database) as run:
        yield run
