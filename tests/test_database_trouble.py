"""The database dropped, down or busy: a 503 problem with Retry-After (or a transparent retry), never a 500."""

import asyncio
import secrets
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.problems import DatabaseTrouble, database_unavailable, install_problem_handlers
from returnflow.serve import serve_app
from returnflow.settings import Settings
from store.api_keys import create_api_key
from store.db import Database
from store.migrate import upgrade_async
from tests.api_client import Callers, put_order
from tests.factories import new_order_id, order_body, return_body


def lost_connection() -> InterfaceError:
    return InterfaceError("SELECT 1", {}, Exception("connection is closed"), connection_invalidated=True)


@pytest.fixture
def calls() -> dict[str, int]:
    return {}


@pytest.fixture
async def troubled(calls: dict[str, int]) -> AsyncIterator[httpx.AsyncClient]:
    """A small app behind the middleware, whose routes fail the way a database does."""
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(DatabaseTrouble)  # as api/app.py has it: inside the 500 handler, outside the routes

    def count(name: str) -> int:
        calls[name] = calls.get(name, 0) + 1
        return calls[name]

    @app.get("/flaky")
    async def flaky_read() -> dict[str, int]:
        if count("read") == 1:
            raise lost_connection()
        return {"calls": calls["read"]}

    @app.post("/flaky")
    async def flaky_write() -> dict[str, int]:
        count("write")
        raise lost_connection()

    @app.get("/gone")
    async def gone() -> None:
        count("gone")
        raise lost_connection()

    @app.get("/locked")
    async def locked() -> None:
        raise OperationalError("UPDATE t", {}, sqlite3.OperationalError("database is locked"))

    @app.get("/refused")
    async def refused() -> None:
        raise ConnectionRefusedError(111, "Connect call failed")

    @app.get("/bug")
    async def bug() -> None:
        raise IntegrityError("INSERT", {}, Exception("duplicate key value violates unique constraint"))

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["status"] == 503


async def test_a_read_that_lost_its_connection_runs_once_more(troubled: httpx.AsyncClient, calls: dict) -> None:
    answer = await troubled.get("/flaky")

    assert answer.status_code == 200 and answer.json() == {"calls": 2}
    assert_unavailable(await troubled.get("/gone"))
    assert calls["gone"] == 2, "retried once, not more"


async def test_a_write_that_lost_its_connection_is_not_run_again(troubled: httpx.AsyncClient, calls: dict) -> None:
    assert_unavailable(await troubled.post("/flaky"))
    assert calls["write"] == 1


async def test_locked_or_unreachable_is_503_and_a_bug_stays_a_500(troubled: httpx.AsyncClient) -> None:
    assert_unavailable(await troubled.get("/locked"))
    assert_unavailable(await troubled.get("/refused"))
    assert (await troubled.get("/bug")).status_code == 500


async def test_connections_terminated_between_requests_are_replaced(api: Callers, database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite has no server to drop connections")
    order_id = await put_order(api)
    url = database.url.replace("postgresql+asyncpg://", "postgresql://", 1)
    admin = await asyncpg.connect(url)
    try:
        terminated = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    assert terminated, "the app held connections to terminate"

    # A write first: it is not run again on a lost connection, so only pre-ping can save it.
    created = await api.service.post("/v1/returns", json=return_body(order_id=order_id))
    read = await api.service.get(f"/v1/orders/{order_id}")

    assert created.status_code == 201, created.text
    assert read.status_code == 200, read.text


def settings_for_database(url: str) -> Settings:
    return Settings(database_url=url, task_queue="returnflow-test-" + secrets.token_hex(4))


async def test_an_unreachable_database_is_503_with_retry_after(local_env: WorkflowEnvironment) -> None:
    database = Database("postgresql+asyncpg://postgres@127.0.0.1:1/returnflow")
    app = create_app(settings_for_database(database.url), temporal=local_env.client, database=database)
    headers = {"Authorization": "Bearer some-api-key"}
    try:
        async with serve_app(app) as base_url, httpx.AsyncClient(base_url=base_url, headers=headers) as client:
            answers = [
                await client.get("/v1/policy"),
                await client.post("/v1/returns", json=return_body()),
                await client.post("/v1/returns", json=return_body(), headers={"Idempotency-Key": "k-1"}),
                await client.put(f"/v1/orders/{new_order_id()}", json=order_body()),
            ]
    finally:
        await database.dispose()
    for answer in answers:
        assert_unavailable(answer)


async def test_sqlite_locked_past_the_busy_timeout_is_503_and_reads_go_on(
    local_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    path = tmp_path / "locked.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade_async(url)
    database = Database(url, sqlite_busy_timeout_ms=200)
    async with database.transaction() as session:
        _, key = await create_api_key(session, "service")
    app = create_app(settings_for_database(url), temporal=local_env.client, database=database)
    order_id = new_order_id()
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        async with (
            serve_app(app) as base_url,
            httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {key}"}) as client,
        ):
            holder.execute("BEGIN IMMEDIATE")  # another process is writing, for longer than the busy timeout
            refused = await client.put(f"/v1/orders/{order_id}", json=order_body())
            read = await client.get("/v1/policy")
            holder.execute("ROLLBACK")
            later = await client.put(f"/v1/orders/{order_id}", json=order_body())
    finally:
        holder.close()
        await database.dispose()

    assert_unavailable(refused)
    assert read.status_code == 200, read.text
    assert later.status_code == 201, later.text


async def test_sqlite_writers_of_one_process_take_turns_instead_of_colliding(tmp_path: Path) -> None:
    """With no busy timeout at all, SQLite refuses a BEGIN IMMEDIATE the moment another holds the lock: twenty
    writers of one process still all commit, one after the other, because they queue before SQLite."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}"
    await upgrade_async(url)
    database = Database(url, sqlite_busy_timeout_ms=0)

    async def write(n: int) -> None:
        async with database.transaction() as session:
            await create_api_key(session, "service", f"writer {n}")
            await asyncio.sleep(0.01)  # holds the lock across a turn of the event loop, as a real write does

    try:
        await asyncio.gather(*(write(n) for n in range(20)))
        async with database.sessions() as session:
            written = await session.scalar(text("SELECT count(*) FROM api_keys WHERE label LIKE 'writer %'"))
    finally:
        await database.dispose()
    assert written == 20


async def test_sqlite_writers_of_two_processes_take_turns_instead_of_colliding(tmp_path: Path) -> None:
    """The queue goes across processes too (``store/writer_turns.py``): two ``Database`` objects hold their turns
    through two open file descriptions, as two processes do, and with SQLite's busy timeout at 0 (its lock is
    refused at once when taken) their writers still all commit."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}"
    await upgrade_async(url)
    api, worker = Database(url), Database(url)
    for database in (api, worker):  # after the Database's own settings, so this one holds
        event.listen(
            database.engine.sync_engine, "connect", lambda connection, _: connection.execute("PRAGMA busy_timeout=0")
        )

    async def write(database: Database, n: int) -> None:
        async with database.transaction() as session:
            await create_api_key(session, "service", f"writer {n}")
            await asyncio.sleep(0.01)

    try:
        await asyncio.gather(*(write((api, worker)[n % 2], n) for n in range(20)))
        async with api.sessions() as session:
            written = await session.scalar(text("SELECT count(*) FROM api_keys WHERE label LIKE 'writer %'"))
    finally:
        await api.dispose()
        await worker.dispose()
    assert written == 20


async def test_a_sqlite_writer_that_waits_too_long_for_its_turn_is_told_the_database_is_locked(
    tmp_path: Path,
) -> None:
    """As after SQLite's busy timeout (which the API answers with a 503), and its place in the queue is given up:
    once the writer ahead commits, the next write goes through."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}"
    await upgrade_async(url)
    holder, waiter = Database(url), Database(url, sqlite_busy_timeout_ms=200)
    try:
        async with holder.transaction() as session:
            await create_api_key(session, "service", "the long write")
            with pytest.raises(OperationalError) as refused:
                async with waiter.transaction() as other:
                    await create_api_key(other, "service", "refused")
            cancelled = asyncio.create_task(write_one(waiter, "cancelled"))
            await asyncio.sleep(0.05)
            cancelled.cancel()
            with pytest.raises(asyncio.CancelledError):
                await cancelled
        await write_one(waiter, "after")
        async with waiter.sessions() as session:
            labels = set((await session.scalars(text("SELECT label FROM api_keys"))).all())
    finally:
        await holder.dispose()
        await waiter.dispose()
    assert database_unavailable(refused.value)
    assert {"the long write", "after"} <= labels and not {"refused", "cancelled"} & labels


async def write_one(database: Database, label: str) -> None:
    async with database.transaction() as session:
        await create_api_key(session, "service", label)
