"""Idempotency-Key on creating POSTs, over real HTTP, on SQLite and PostgreSQL.

The first answer is replayed byte for byte; another body with the same key is a
422; a duplicate while the first is running is a 409; keys belong to one caller
and expire. The middleware's own rules (what is kept, what is given back after a
failure) are checked on a small app of their own.
"""

import asyncio
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import update

from api.idempotency import IdempotencyMiddleware, idempotent_id, request_hash
from api.key_cache import KeyCache
from api.problems import Problem, install_problem_handlers
from store import idempotency as keys
from store.api_keys import create_api_key, find_key
from store.db import Database
from store.tables import IdempotencyKey
from tests.api_client import Callers, put_order
from tests.factories import order_body, return_body


def key() -> str:
    return "idem-" + secrets.token_hex(8)


async def returns_for(api: Callers, order_id: str) -> list[dict[str, Any]]:
    listed = await api.service.get("/v1/returns", params={"order_id": order_id})
    assert listed.status_code == 200, listed.text
    return listed.json()["items"]


async def scope_of(database: Database, client: httpx.AsyncClient) -> str:
    async with database.sessions() as session:
        found = await find_key(session, client.headers["authorization"].removeprefix("Bearer "))
    assert found is not None
    return f"{found.role}:{found.id}"


async def test_the_same_key_and_body_replays_the_first_answer_byte_for_byte(api: Callers) -> None:
    order_id = await put_order(api)
    body, headers = return_body(order_id=order_id), {"Idempotency-Key": key()}

    first = await api.service.post("/v1/returns", json=body, headers=headers)
    again = await api.service.post("/v1/returns", json=body, headers=headers)

    assert first.status_code == again.status_code == 201, first.text
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"] == "application/json"
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert [r["id"] for r in await returns_for(api, order_id)] == [first.json()["id"]]
    assert (await api.service.get(f"/v1/orders/{order_id}")).json()["lines"][0]["returnable_quantity"] == 1


async def test_a_refusal_is_an_answer_and_is_replayed_too(api: Callers) -> None:
    headers = {"Idempotency-Key": key()}
    body = return_body(order_id="no-such-order")

    first = await api.service.post("/v1/returns", json=body, headers=headers)
    again = await api.service.post("/v1/returns", json=body, headers=headers)

    assert first.status_code == again.status_code == 422
    assert again.content == first.content
    assert again.headers["content-type"] == "application/problem+json"
    assert again.headers["idempotent-replayed"] == "true"


async def test_the_same_key_with_another_body_is_refused(api: Callers) -> None:
    order_id = await put_order(api)
    headers = {"Idempotency-Key": key()}
    first = await api.service.post("/v1/returns", json=return_body(order_id=order_id), headers=headers)
    assert first.status_code == 201, first.text

    other = await api.service.post(
        "/v1/returns",
        headers=headers,
        json=return_body(order_id=order_id, lines=[{"line_id": "L1", "quantity": 1, "reason": "damaged"}]),
    )

    assert other.status_code == 422, other.text
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["errors"][0]["code"] == "idempotency_key_reused"
    assert len(await returns_for(api, order_id)) == 1


async def test_keys_belong_to_one_caller(api: Callers) -> None:
    order_id = await put_order(api)
    headers = {"Idempotency-Key": key()}
    body = return_body(order_id=order_id)

    by_service = await api.service.post("/v1/returns", json=body, headers=headers)
    by_operator = await api.operator.post("/v1/returns", json=body, headers=headers)

    assert by_service.status_code == by_operator.status_code == 201, by_operator.text
    assert "idempotent-replayed" not in by_operator.headers
    assert by_service.json()["id"] != by_operator.json()["id"]
    assert len(await returns_for(api, order_id)) == 2


async def test_fifty_concurrent_duplicates_create_one_return(api: Callers) -> None:
    order_id = await put_order(api)
    body, headers = return_body(order_id=order_id), {"Idempotency-Key": key()}

    answers = await asyncio.gather(*(api.service.post("/v1/returns", json=body, headers=headers) for _ in range(50)))

    assert all(a.status_code in (201, 409) for a in answers), [(a.status_code, a.text) for a in answers]
    created = [a for a in answers if a.status_code == 201]
    assert created and len({a.content for a in created}) == 1
    for conflict in (a for a in answers if a.status_code == 409):
        assert conflict.headers["content-type"] == "application/problem+json"
        assert "in progress" in conflict.json()["detail"]
    assert [r["id"] for r in await returns_for(api, order_id)] == [created[0].json()["id"]]
    replay = await api.service.post("/v1/returns", json=body, headers=headers)
    assert replay.status_code == 201 and replay.content == created[0].content


async def test_an_expired_key_is_new_again(api: Callers, database: Database) -> None:
    order_id = await put_order(api, lines=[{**order_body()["lines"][0], "quantity": 3}])
    idempotency_key = key()
    headers = {"Idempotency-Key": idempotency_key}
    first = await api.service.post("/v1/returns", json=return_body(order_id=order_id), headers=headers)
    assert first.status_code == 201, first.text
    row = (IdempotencyKey.scope == await scope_of(database, api.service), IdempotencyKey.key == idempotency_key)
    async with database.transaction() as session:
        created_at = datetime.now(UTC) - timedelta(hours=25)
        await session.execute(
            update(IdempotencyKey)
            .where(*row)
            .values(created_at=created_at, expires_at=created_at + timedelta(hours=24))
        )

    later = await api.service.post(
        "/v1/returns",
        headers=headers,
        json=return_body(order_id=order_id, lines=[{"line_id": "L1", "quantity": 1, "reason": "damaged"}]),
    )

    assert later.status_code == 201, later.text
    assert "idempotent-replayed" not in later.headers
    assert later.json()["id"] != first.json()["id"]
    assert len(await returns_for(api, order_id)) == 2


async def test_a_retry_after_a_crash_mid_request_lands_on_the_same_return(api: Callers, database: Database) -> None:
    """The workflow started but the answer was never stored: the retry must not make a second return."""
    order_id = await put_order(api)
    idempotency_key = key()
    raw = json.dumps(return_body(order_id=order_id)).encode()
    headers = {"Idempotency-Key": idempotency_key, "content-type": "application/json"}
    first = await api.service.post("/v1/returns", content=raw, headers=headers)
    assert first.status_code == 201, first.text
    row = (IdempotencyKey.scope == await scope_of(database, api.service), IdempotencyKey.key == idempotency_key)
    async with database.transaction() as session:  # as the crashed process left it: in flight, long ago
        stale = datetime.now(UTC) - timedelta(hours=1)
        await session.execute(
            update(IdempotencyKey)
            .where(*row)
            .values(
                state="in_flight", response_status=None, response_headers=None, response_body=None, created_at=stale
            )
        )

    retry = await api.service.post("/v1/returns", content=raw, headers=headers)

    # The derived id reaches the same workflow: the retry gets the first return, not a second one.
    assert retry.status_code == 201, retry.text
    assert retry.json()["id"] == first.json()["id"]
    assert [r["id"] for r in await returns_for(api, order_id)] == [first.json()["id"]]


async def test_a_key_still_in_flight_is_a_conflict(api: Callers, database: Database) -> None:
    order_id = await put_order(api)
    raw = json.dumps(return_body(order_id=order_id)).encode()
    scope, idempotency_key, now = await scope_of(database, api.service), key(), datetime.now(UTC)
    async with database.transaction() as session:
        session.add(
            IdempotencyKey(
                scope=scope,
                key=idempotency_key,
                method="POST",
                path="/v1/returns",
                request_hash=request_hash("POST", "/v1/returns", raw),
                state="in_flight",
                created_at=now,
                expires_at=now + timedelta(hours=24),
            )
        )

    busy = await api.service.post(
        "/v1/returns", content=raw, headers={"Idempotency-Key": idempotency_key, "content-type": "application/json"}
    )

    assert busy.status_code == 409, busy.text
    assert busy.headers["content-type"] == "application/problem+json"
    assert await returns_for(api, order_id) == []


@pytest.mark.parametrize("bad", ["", "x" * 256, "caf\xe9", "tab\there"])
async def test_a_malformed_key_is_a_400(api: Callers, bad: str) -> None:
    response = await api.service.post(
        "/v1/returns", json=return_body(order_id="no-such-order"), headers={b"Idempotency-Key": bad.encode("latin-1")}
    )

    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_without_credentials_the_key_is_ignored_and_auth_answers(api: Callers) -> None:
    response = await api.anonymous.post("/v1/returns", json=return_body(), headers={"Idempotency-Key": key()})
    assert response.status_code == 401


# ---- the middleware on a small app of its own -------------------------------------------------------------


@pytest.fixture
async def small(database: Database) -> Any:
    """An app whose routes fail on demand, behind the idempotency middleware, and a client with a key."""
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(IdempotencyMiddleware, ttl=timedelta(hours=24), lock_timeout=timedelta(minutes=2))
    app.state.database = database
    app.state.api_keys = KeyCache(5.0)
    calls: list[str] = []
    failures: list[int | str] = []

    @app.post("/things", status_code=201)
    async def make(request: Request) -> dict[str, Any]:
        calls.append((await request.body()).decode())
        if failures:
            failure = failures.pop(0)
            if failure == "raise":
                raise RuntimeError("boom")
            raise Problem(int(failure), "failed on purpose")
        return {"n": len(calls), "id": idempotent_id(request, "thing_")}

    async with database.transaction() as session:
        _, secret = await create_api_key(session, "service")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://small", headers={"Authorization": f"Bearer {secret}"}
    ) as client:
        yield client, calls, failures


@pytest.mark.parametrize("failure", ["raise", 500, 503, 409, 429])
async def test_after_a_failure_worth_retrying_the_key_is_given_back(small: Any, failure: int | str) -> None:
    client, calls, failures = small
    headers = {"Idempotency-Key": key()}
    failures.append(failure)

    failed = await client.post("/things", content=b"one", headers=headers)
    retried = await client.post("/things", content=b"one", headers=headers)

    assert failed.status_code == (500 if failure == "raise" else failure)
    assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers
    assert calls == ["one", "one"]


async def test_a_business_refusal_is_kept(small: Any) -> None:
    client, calls, failures = small
    headers = {"Idempotency-Key": key()}
    failures.append(422)

    first = await client.post("/things", content=b"one", headers=headers)
    again = await client.post("/things", content=b"one", headers=headers)

    assert first.status_code == again.status_code == 422
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    assert calls == ["one"]


async def test_ids_derived_from_the_key_are_stable_per_key_and_request(small: Any) -> None:
    client, _, _ = small
    one, two = key() + "-1", key() + "-2"

    first = (await client.post("/things", content=b"a", headers={"Idempotency-Key": one})).json()["id"]
    other_key = (await client.post("/things", content=b"a", headers={"Idempotency-Key": two})).json()["id"]
    no_key = (await client.post("/things", content=b"a")).json()["id"]

    assert first.startswith("thing_") and len(first) == len("thing_") + 20
    assert other_key.startswith("thing_") and other_key != first
    assert no_key is None
    assert (await client.post("/things", content=b"a", headers={"Idempotency-Key": one})).json()["id"] == first


# ---- the in-flight lease: renewed while the request runs, taken over soon after its holder died -------------


async def test_a_lapsed_lease_is_taken_over_and_a_renewed_one_is_not(database: Database) -> None:
    scope, idempotency_key, lease, t0 = "lease-test", key(), timedelta(seconds=15), datetime.now(UTC)

    async def claim_at(seconds: float) -> keys.ClaimOutcome:
        return await keys.claim(
            database,
            scope,
            idempotency_key,
            method="POST",
            path="/v1/returns",
            request_hash="h",
            ttl=timedelta(hours=24),
            lock_timeout=lease,
            now=t0 + timedelta(seconds=seconds),
        )

    first = await claim_at(0)
    assert isinstance(first, keys.Claimed)
    assert isinstance(await claim_at(10), keys.InFlight)
    assert await keys.renew(database, scope, idempotency_key, first.token, lease, now=t0 + timedelta(seconds=10))
    assert isinstance(await claim_at(20), keys.InFlight), "renewed at 10 s: held until 25 s"

    taken = await claim_at(26)  # the holder stopped renewing (its process died): a retry takes the key

    assert isinstance(taken, keys.Claimed)
    assert not await keys.renew(database, scope, idempotency_key, first.token, lease), "the dead holder's claim is gone"


async def test_a_request_longer_than_the_lease_keeps_its_key(database: Database) -> None:
    """The lease is renewed while the request runs: a retry meanwhile is a 409, not a second run."""
    app = FastAPI()
    app.add_middleware(IdempotencyMiddleware, ttl=timedelta(hours=24), lock_timeout=timedelta(seconds=0.9))
    app.state.database = database
    app.state.api_keys = KeyCache(5.0)
    runs: list[int] = []

    @app.post("/slow", status_code=201)
    async def slow() -> dict[str, int]:
        runs.append(1)
        await asyncio.sleep(3)
        return {"runs": len(runs)}

    async with database.transaction() as session:
        _, secret = await create_api_key(session, "service")
    headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": key()}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://slow") as client:
        first = asyncio.create_task(client.post("/slow", headers=headers))
        await asyncio.sleep(2)  # more than twice the lease
        meanwhile = await client.post("/slow", headers=headers)
        answered = await first

    assert meanwhile.status_code == 409, meanwhile.text
    assert answered.status_code == 201 and runs == [1]
