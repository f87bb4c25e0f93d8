"""Limits: body size (413), the per-caller creation rate (429 + Retry-After), list sizes, unknown fields."""

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.limits import CREATING_ROUTES
from returnflow.serve import serve_app
from returnflow.settings import Settings
from store import rate_limits
from store.api_keys import create_api_key
from store.db import Database
from store.tables import RateBucket
from tests.api_client import Callers, put_order
from tests.factories import return_body


@dataclass
class Limited:
    service: httpx.AsyncClient
    operator: httpx.AsyncClient


@pytest.fixture
async def limited(local_env: WorkflowEnvironment, database: Database) -> AsyncIterator[Limited]:
    """The API with tight limits: 1 KiB bodies, 2 creations at once then 6 a minute per caller.

    No worker: the creations here are refused (unknown order) before any workflow starts.
    """
    settings = Settings(database_url=database.url, max_body_bytes=1024, create_rate_per_minute=6, create_rate_burst=2)
    async with database.transaction() as session:
        _, service_key = await create_api_key(session, "service")
        _, operator_key = await create_api_key(session, "operator")
    app = create_app(settings, temporal=local_env.client, database=database)
    async with serve_app(app) as base_url:

        def client(secret: str) -> httpx.AsyncClient:
            return httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {secret}"}, timeout=30)

        async with client(service_key) as service, client(operator_key) as operator:
            yield Limited(service, operator)


def padded(size: int) -> dict:
    return return_body(
        order_id="no-such-order", lines=[{"line_id": "L1", "quantity": 1, "reason": "other", "comment": "x" * size}]
    )


async def test_a_body_over_the_limit_is_a_413(limited: Limited) -> None:
    declared = await limited.service.post("/v1/returns", json=padded(4000))

    assert declared.status_code == 413, declared.text
    assert declared.headers["content-type"] == "application/problem+json"
    assert declared.json()["status"] == 413


@pytest.mark.parametrize("idempotency_key", [None, "big-stream"])
async def test_a_streamed_body_over_the_limit_is_a_413(limited: Limited, idempotency_key: str | None) -> None:
    async def stream() -> AsyncIterator[bytes]:  # no Content-Length: chunked
        yield b'{"order_id": "'
        for _ in range(20):
            yield b"x" * 256
        yield b'"}'

    headers = {"content-type": "application/json", **({"Idempotency-Key": idempotency_key} if idempotency_key else {})}
    response = await limited.service.post("/v1/returns", content=stream(), headers=headers)

    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_body_within_the_limit_goes_through(limited: Limited) -> None:
    response = await limited.operator.post("/v1/returns/preview", json=padded(100))
    assert response.status_code == 422, response.text  # the unknown order, not the size


async def test_the_default_limit_is_256_kib(api: Callers) -> None:
    response = await api.service.post("/v1/returns", json=padded(300 * 1024))
    assert response.status_code == 413, response.text
    assert Settings().max_body_bytes == 256 * 1024


async def test_creating_too_fast_is_a_429_with_retry_after(limited: Limited) -> None:
    body = return_body(order_id="no-such-order")

    answers = [await limited.service.post("/v1/returns", json=body) for _ in range(3)]

    assert [a.status_code for a in answers] == [422, 422, 429], [a.text for a in answers]
    throttled = answers[2]
    assert throttled.headers["content-type"] == "application/problem+json"
    assert 1 <= int(throttled.headers["retry-after"]) <= 10
    # Per caller, and only on creation.
    assert (await limited.operator.post("/v1/returns", json=body)).status_code == 422
    assert (await limited.service.get("/v1/returns")).status_code == 200
    assert (await limited.service.post("/v1/returns/preview", json=body)).status_code == 422


async def test_a_throttled_creation_does_not_use_up_its_idempotency_key(limited: Limited) -> None:
    body = return_body(order_id="no-such-order")
    for _ in range(2):
        await limited.service.post("/v1/returns", json=body)

    throttled = await limited.service.post("/v1/returns", json=body, headers={"Idempotency-Key": "k-429"})
    again = await limited.service.post(
        "/v1/returns", json={**body, "channel": "storefront"}, headers={"Idempotency-Key": "k-429"}
    )

    assert throttled.status_code == 429
    assert again.status_code == 429, "a different body is not a key reuse: the 429 was not kept"


@pytest.mark.parametrize("limit", [0, 101, -1])
async def test_list_limits_stay_within_1_to_100(api: Callers, limit: int) -> None:
    response = await api.service.get("/v1/returns", params={"limit": limit})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "limit"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "completed"),
        ("refund", {"amount": "999.00"}),
        ("customer_id", "C2"),
        ("id", "ret_mine"),
    ],
)
async def test_fields_the_caller_may_not_set_are_refused(api: Callers, field: str, value: object) -> None:
    order_id = await put_order(api)

    response = await api.service.post("/v1/returns", json={**return_body(order_id=order_id), field: value})

    assert response.status_code == 422, response.text
    assert {"field": field, "code": "extra_forbidden"}.items() <= response.json()["errors"][0].items()
    listed = (await api.service.get("/v1/returns", params={"order_id": order_id})).json()
    assert listed["items"] == []


async def test_rate_buckets_allow_a_burst_then_the_rate(database: Database) -> None:
    rate = rate_limits.Rate("test-" + secrets.token_hex(4), per_minute=60, burst=3)

    async def take(caller: str, now: float) -> float:
        return await rate_limits.take(database, rate, caller, now=now)

    assert [await take("a", 1000.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert await take("a", 1000.0) == pytest.approx(1.0)
    assert await take("b", 1000.0) == 0.0, "each caller has its own bucket"
    assert await take("a", 1000.5) == pytest.approx(0.5)
    assert await take("a", 1001.0) == 0.0
    assert [await take("a", 1100.0) for _ in range(4)][-1] > 0, "a long pause refills to the burst, not beyond"


async def test_concurrent_takes_never_share_a_token(database: Database) -> None:
    rate = rate_limits.Rate("test-" + secrets.token_hex(4), per_minute=1, burst=5)

    waits = await asyncio.gather(*(rate_limits.take(database, rate, "racer", now=5000.0) for _ in range(20)))

    assert sum(1 for wait in waits if wait == 0) == 5, waits


async def test_buckets_full_for_an_hour_are_forgotten_when_a_new_caller_comes(database: Database) -> None:
    rate = rate_limits.Rate("test-" + secrets.token_hex(4), per_minute=60, burst=2)
    for n in range(5):
        await rate_limits.take(database, rate, f"c{n}", now=0.0)

    await rate_limits.take(database, rate, "new", now=2 * rate_limits.FORGET_FULL_AFTER_SECONDS)

    async with database.sessions() as session:
        callers = (await session.scalars(select(RateBucket.caller).where(RateBucket.limit_name == rate.name))).all()
    assert callers == ["new"]


@pytest.mark.parametrize(
    ("route", "creating"),
    [
        ("/v1/returns", True),
        ("/v1/webhook-endpoints", True),
        ("/v1/customer-sessions", True),
        ("/v1/returns/{return_id}/dispute", True),
        ("/v1/returns/{return_id}/survey", True),
        ("/v1/returns/preview", False),
        ("/v1/returns/{return_id}/cancel", False),
        ("/v1/orders/{order_id}", False),
    ],
)
def test_which_routes_count_as_creating(route: str, creating: bool) -> None:
    assert bool(CREATING_ROUTES.fullmatch(route)) is creating
