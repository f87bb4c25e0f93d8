"""What operators scrape and probe: GET /metrics moving as returns run, the health probes, the worker's port, traces."""

import asyncio
import os
import secrets
import socket
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import cast

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from messages import housekeeping as hk
from returnflow.serve import serve_app
from returnflow.settings import Settings
from returnflow.temporal import data_converter
from returnflow.tracing import temporal_interceptors, tracing_with
from store.db import Database
from store.migrate import upgrade_async
from store.tables import OutboxEvent
from tests.api_client import Callers, default_policy, put_order, wait_for_status
from tests.conftest import TEST_CODEC_KEYS, Run, forget_earlier_deliveries, serving_api
from tests.factories import return_body
from tests.return_journeys import AS_NEW, deliver, new_return, refund_failed
from tests.test_webhooks import Receiver, make_due
from workflows.housekeeping import DeliverWebhooksWorkflow

ROOT = Path(__file__).resolve().parent.parent
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """Every sample of a Prometheus text page, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def completed_return(api: Callers) -> dict:
    """A return of one tee, auto-approved, delivered, inspected as new and refunded to the card."""
    parcel = await deliver(api, (await new_return(api))["id"])
    inspected = await api.operator.post(f"/v1/returns/{parcel['id']}/inspection", json=AS_NEW)
    assert inspected.status_code == 200, inspected.text
    return await wait_for_status(api, parcel["id"], "completed")


async def test_the_business_counters_move_as_a_return_runs(api: Callers) -> None:
    before = await scrape(api.anonymous)

    done = await completed_return(api)
    read = await api.service.get(f"/v1/returns/{done['id']}")
    assert read.status_code == 200
    after = await scrape(api.anonymous)

    currency = done["refund"]["currency"]
    assert moved(before, after, "returnflow_returns_created_total", type="return", channel="api") == 1
    assert moved(before, after, "returnflow_returns_ended_total", status="completed") == 1
    assert moved(before, after, "returnflow_refunds_paid_total", kind="refund", currency=currency) == 1
    refunded = moved(before, after, "returnflow_refunded_amount_total", kind="refund", currency=currency)
    assert Decimal(str(refunded)).quantize(Decimal("0.01")) == Decimal(done["refund"]["amount"])
    assert moved(before, after, "returnflow_time_to_refund_seconds_count") == 1
    # Latency by route template: the read of one return is counted under its route, never under its id.
    route = "/v1/returns/{return_id}"
    assert moved(
        before, after, "returnflow_api_request_duration_seconds_count", method="GET", route=route, status="200"
    )
    assert not any(done["id"] in dict(labels).get("route", "") for _, labels in after)


async def test_attention_is_counted_by_its_reason(api: Callers, sandbox: httpx.AsyncClient) -> None:
    before = await scrape(api.anonymous)

    await refund_failed(api, sandbox)

    after = await scrape(api.anonymous)
    assert moved(before, after, "returnflow_attention_raised_total", reason="refund_failed") == 1


async def test_webhook_deliveries_are_counted_by_outcome_dead_letters_included(
    api: Callers, database: Database, housekeeper: Run
) -> None:
    """Two endpoints: one fails once and then takes the event, the other fails until it is given up."""
    await forget_earlier_deliveries(database)
    await default_policy(api)
    flaky, broken = Receiver(failures=1), Receiver(failures=1_000)
    async with serve_app(flaky.app()) as flaky_url, serve_app(broken.app()) as broken_url:
        endpoints = [
            (
                await api.service.post(
                    "/v1/webhook-endpoints", json={"url": f"{url}/hook", "events": ["return.approved"]}
                )
            ).json()["id"]
            for url in (flaky_url, broken_url)
        ]
        try:
            before = await scrape(api.anonymous)
            created = await api.service.post("/v1/returns", json=return_body(order_id=await put_order(api)))
            await wait_for_status(api, created.json()["id"], "awaiting_shipment")
            await housekeeper(DeliverWebhooksWorkflow.run, hk.DeliverEvents())
            async with database.transaction() as session:  # a day has passed: the broken one is given up
                await session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.return_id == created.json()["id"])
                    .values(created_at=datetime.now(UTC) - timedelta(hours=24, minutes=1))
                )
            for endpoint_id in endpoints:
                await make_due(database, endpoint_id)
            await housekeeper(DeliverWebhooksWorkflow.run, hk.DeliverEvents())
            after = await scrape(api.anonymous)
        finally:
            for endpoint_id in endpoints:
                await api.service.delete(f"/v1/webhook-endpoints/{endpoint_id}")

    deliveries = "returnflow_webhook_deliveries_total"
    assert moved(before, after, deliveries, outcome="retrying") == 2
    assert moved(before, after, deliveries, outcome="delivered") == 1
    assert moved(before, after, deliveries, outcome="dead") == 1


async def test_the_probes_answer_without_credentials(api: Callers) -> None:
    assert (await api.anonymous.get("/health/live")).json() == {"status": "live"}
    ready = await api.anonymous.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready"}


async def test_the_api_serves_the_sdk_metrics_of_its_own_client(local_env: WorkflowEnvironment, tmp_path: Path) -> None:
    """An API process that connects to Temporal itself adds the SDK's metrics (temporal_…) to its own."""
    settings = Settings(temporal_address=local_env.client.service_client.config.target_host, data_dir=tmp_path)
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'returnflow.db'}")
    app = create_app(settings, database=database)
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        assert (await client.get("/health/ready")).status_code == 200  # one call through the client, at least
        page = await client.get("/metrics")
    await database.dispose()

    names = {family.name for family in text_string_to_metric_families(page.text)}
    assert "returnflow_api_request_duration_seconds" in names
    assert any(name.startswith("temporal_") for name in names), sorted(names)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_not_ready_names_what_is_down(tmp_path: Path) -> None:
    """Nothing listens where the database and Temporal should be: 503, Retry-After, both named; never a hang."""
    nowhere = f"127.0.0.1:{free_port()}"
    temporal = await Client.connect(nowhere, data_converter=data_converter(), lazy=True)
    database = Database(f"postgresql+asyncpg://postgres@{nowhere}/none")
    app = create_app(Settings(data_dir=tmp_path), temporal=temporal, database=database)
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        assert (await client.get("/health/live")).status_code == 200
        answer = await client.get("/health/ready")
    await database.dispose()

    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert int(answer.headers["retry-after"]) > 0
    problem = answer.json()
    assert problem["detail"] == "not ready: database, temporal unreachable"
    assert {error["field"] for error in problem["errors"]} == {"database", "temporal"}


def test_the_operations_routes_are_in_the_served_openapi() -> None:
    document = create_app(Settings(), temporal=cast(Client, object())).openapi()
    assert {"/metrics", "/health/live", "/health/ready"} <= set(document["paths"])
    assert "503" in document["paths"]["/health/ready"]["get"]["responses"]


@pytest.fixture
async def worker_process(local_env: WorkflowEnvironment, sandbox_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """``python worker.py`` as an operator runs it, with its operations port on; yields the port's URL."""
    port = free_port()
    task_queue = "operations-test-" + secrets.token_hex(4)
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'returnflow.db'}"
    await upgrade_async(database_url)
    env = {
        **os.environ,
        "RETURNFLOW_TEMPORAL_ADDRESS": local_env.client.service_client.config.target_host,
        "RETURNFLOW_TASK_QUEUE": task_queue,
        "RETURNFLOW_DATA_DIR": str(tmp_path),
        "DATABASE_URL": database_url,
        "RETURNFLOW_SANDBOX_URL": sandbox_url,
        "RETURNFLOW_CODEC_KEYS": TEST_CODEC_KEYS,
        "RETURNFLOW_WORKER_METRICS_PORT": str(port),
        "RETURNFLOW_WORKER_METRICS_HOST": "127.0.0.1",
    }
    process = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "worker.py"), env=env, cwd=ROOT)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=30)
        except TimeoutError:
            process.kill()
            await process.wait()
        # The worker made the housekeeping schedules of its task queue on the shared dev server.
        async for schedule in await local_env.client.list_schedules():
            if schedule.id.startswith(task_queue):
                await local_env.client.get_schedule_handle(schedule.id).delete()


async def test_the_worker_serves_its_metrics_and_probes_on_its_port(worker_process: str) -> None:
    async with httpx.AsyncClient(base_url=worker_process, timeout=10) as client:
        ready = None
        for _ in range(240):  # the process imports, connects and starts polling: seconds on a busy machine
            try:
                ready = await client.get("/health/ready")
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.25)
        assert ready is not None and ready.status_code == 200, ready and ready.text
        assert (await client.get("/health/live")).json() == {"status": "live"}
        page = await client.get("/metrics")

    assert page.status_code == 200
    names = {family.name for family in text_string_to_metric_families(page.text)}
    # The business metrics of this process, and the Temporal SDK's own, on one port.
    assert "returnflow_refunds_paid" in names
    assert any(name.startswith("temporal_") for name in names), sorted(names)


def spans_by_id(spans: tuple[ReadableSpan, ...]) -> dict[int, ReadableSpan]:
    return {span.context.span_id: span for span in spans if span.context is not None}


def ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    chain = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        chain.append(span)
    return chain


async def test_one_trace_links_the_request_to_the_refund_call(
    local_env: WorkflowEnvironment, database: Database, sandbox_url: str
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with tracing_with(provider):
        config = local_env.client.config()
        config["interceptors"] = temporal_interceptors()
        traced = Client(**config)
        async with serving_api(traced, database, sandbox_url) as api:
            done = await completed_return(api)
    spans = exporter.get_finished_spans()
    provider.shutdown()

    by_id = spans_by_id(spans)
    created = next(
        span
        for span in spans
        if span.kind == SpanKind.SERVER
        and span.attributes
        and span.attributes.get("http.route") == "/v1/returns"
        and span.attributes.get("http.request.method", span.attributes.get("http.method")) == "POST"
    )
    refund_call = next(
        span
        for span in spans
        if span.kind == SpanKind.CLIENT
        and span.attributes
        and "/payments/refunds" in str(span.attributes.get("url.full", span.attributes.get("http.url", "")))
    )
    assert refund_call.context.trace_id == created.context.trace_id
    chain = ancestors(refund_call, by_id)
    names = [span.name for span in chain]
    # The partner call ← the refund activity ← its start by the workflow ← the API's Update-with-Start ← the request.
    assert names == [
        "RunActivity:refund_payment",
        "StartActivity:refund_payment",
        "StartUpdateWithStartWorkflow:ReturnWorkflow",
        "POST /v1/returns",
    ]
    assert chain[-1] is created
    assert done["status"] == "completed"
