"""Who may call what: every endpoint × every kind of caller × own and another customer's objects.

The matrix below has one row per route of the app (``test_every_route_has_a_row``
fails when a route is added without one). Each row is called by nobody, by the
customer who owns the objects (A), by another customer (B), by an operator and
by a service, over real HTTP on the real stack, and each answer's status is
checked: 401 without credentials, 403 for a role that may not, 404 for another
customer's return or order (never a 403, which would confirm that it exists),
and 2xx — or the state conflict the object is in — for the others.
"""

import asyncio
import base64
import io
import json
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from PIL import Image

from api.app import create_app
from api.auth import (
    carrier_signature,
    mint_customer_token,
    session_secret,
    verify_customer_token,
)
from api.problems import Problem
from domain.policy import DEFAULT_POLICY
from returnflow.settings import Settings
from store import tickets
from store.api_keys import create_api_key
from store.db import Database
from tests.api_client import Callers, bearer_client, customer_token, wait_for_status
from tests.factories import NOW, order_body, return_body

SESSION_SECRET = "test-session-secret-" + "x" * 24
CARRIER_SECRET = "test-carrier-secret-" + "y" * 24
CALLERS = ("anonymous", "owner", "other", "operator", "service")
# Routes outside /v1 and /codec (docs, health) are public and not part of the matrix.
COVERED_PREFIXES = ("/v1/", "/codec/")


@pytest.fixture(autouse=True)
def secrets_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app under test reads these when the ``api`` fixture builds its Settings."""
    monkeypatch.setenv("RETURNFLOW_SESSION_SECRET", SESSION_SECRET)
    monkeypatch.setenv("RETURNFLOW_CARRIER_WEBHOOK_SECRET", CARRIER_SECRET)


@dataclass
class World:
    """Two customers, an order and returns of A's, and a client per kind of caller."""

    api: Callers
    database: Database
    clients: dict[str, httpx.AsyncClient]
    customer_a: str
    customer_b: str
    order_a: str
    order_a_body: dict
    return_a: str
    tracking_a: str
    ended_a: str
    ticket: str

    async def fresh_return(self) -> str:
        """A new return of A's, past its carrier booking (so cancelling it is allowed and settles at once)."""
        created = await self.api.service.post("/v1/returns", json=return_body(order_id=self.order_a))
        assert created.status_code == 201, created.text
        await wait_for_status(self.api, created.json()["id"], "awaiting_shipment")
        return created.json()["id"]

    async def fresh_key(self) -> str:
        async with self.database.transaction() as session:
            key_id, _ = await create_api_key(session, "operator", label="to revoke")
        return key_id


@pytest.fixture
async def world(api: Callers, database: Database) -> AsyncIterator[World]:
    customer_a, customer_b = "CA-" + secrets.token_hex(4), "CB-" + secrets.token_hex(4)
    order_a, order_b = "OA-" + secrets.token_hex(6), "OB-" + secrets.token_hex(6)
    lines = [{**order_body()["lines"][0], "quantity": 20}, order_body()["lines"][1]]
    body_a = order_body(customer_id=customer_a, lines=lines)
    for order_id, body in ((order_a, body_a), (order_b, order_body(customer_id=customer_b, lines=lines))):
        assert (await api.service.put(f"/v1/orders/{order_id}", json=body)).status_code == 201

    created = await api.service.post("/v1/returns", json=return_body(order_id=order_a))
    assert created.status_code == 201, created.text
    return_a = created.json()["id"]
    ended = (await api.service.post("/v1/returns", json=return_body(order_id=order_a))).json()["id"]
    tracking_a = (await wait_for_status(api, return_a, "awaiting_shipment"))["logistics"]["tracking_number"]
    await wait_for_status(api, ended, "awaiting_shipment")
    assert (await api.service.post(f"/v1/returns/{ended}/cancel", json={})).status_code == 200
    async with database.transaction() as session:
        ticket = (await tickets.open_ticket(session, kind="sla_breach", summary="for the authorization matrix")).id

    token_a, token_b = await customer_token(api, customer_a), await customer_token(api, customer_b)
    async with bearer_client(api, token_a) as owner, bearer_client(api, token_b) as other:
        clients = {
            "anonymous": api.anonymous,
            "owner": owner,
            "other": other,
            "operator": api.operator,
            "service": api.service,
        }
        yield World(
            api, database, clients, customer_a, customer_b, order_a, body_a, return_a, tracking_a, ended, ticket
        )


Call = Callable[[httpx.AsyncClient, World], Awaitable[httpx.Response]]


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # the route's template, as the app declares it
    call: Call
    # Expected status for: anonymous, owner (customer A), other (customer B), operator, service.
    expect: tuple[int, int, int, int, int]


async def _cancel(client: httpx.AsyncClient, w: World) -> httpx.Response:
    return await client.post(f"/v1/returns/{await w.fresh_return()}/cancel", json={"note": "matrix"})


async def _urge(client: httpx.AsyncClient, w: World) -> httpx.Response:
    """A return of its own for each caller (a return may be urged once a day), in whatever status it opened."""
    created = await w.api.service.post("/v1/returns", json=return_body(order_id=w.order_a))
    assert created.status_code == 201, created.text
    return await client.post(f"/v1/returns/{created.json()['id']}/urge")


async def _revoke(client: httpx.AsyncClient, w: World) -> httpx.Response:
    return await client.delete(f"/v1/api-keys/{await w.fresh_key()}")


WEBHOOK = {"url": "https://hooks.example.invalid/returnflow", "events": ["return.approved"]}


async def _subscribe(client: httpx.AsyncClient, w: World) -> httpx.Response:
    response = await client.post("/v1/webhook-endpoints", json=WEBHOOK)
    if response.status_code == 201:  # no deliveries to a host that does not exist
        await w.api.service.delete(f"/v1/webhook-endpoints/{response.json()['id']}")
    return response


async def _unsubscribe(client: httpx.AsyncClient, w: World) -> httpx.Response:
    created = await w.api.service.post("/v1/webhook-endpoints", json=WEBHOOK)
    assert created.status_code == 201, created.text
    try:
        return await client.delete(f"/v1/webhook-endpoints/{created.json()['id']}")
    finally:
        await w.api.service.delete(f"/v1/webhook-endpoints/{created.json()['id']}")


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 40, 40)).save(out, format="PNG")
    return out.getvalue()


async def _upload(client: httpx.AsyncClient, w: World) -> httpx.Response:
    """A customer uploads for itself; a service names the customer (``customer_id`` is ignored for a customer)."""
    files = {"file": ("photo.png", _photo(), "image/png")}
    return await client.post("/v1/evidence", files=files, data={"customer_id": w.customer_a})


POLICY = DEFAULT_POLICY.model_dump(mode="json")
INSPECTION = {"lines": [{"line_id": "L1", "condition": "as_new", "disposition": "restock"}]}

ROWS: list[Row] = [
    # Orders: the order system (service) writes them; a customer reads its own.
    Row(
        "PUT",
        "/v1/orders/{order_id}",
        lambda c, w: c.put(f"/v1/orders/{w.order_a}", json=w.order_a_body),
        (401, 403, 403, 403, 200),
    ),
    Row("GET", "/v1/orders/{order_id}", lambda c, w: c.get(f"/v1/orders/{w.order_a}"), (401, 200, 404, 200, 200)),
    # Returns. Operators may create (staff-assisted, with override); see test_customers_cannot_override.
    Row(
        "POST",
        "/v1/returns/preview",
        lambda c, w: c.post("/v1/returns/preview", json=return_body(order_id=w.order_a)),
        (401, 200, 404, 200, 200),
    ),
    Row(
        "POST",
        "/v1/returns",
        lambda c, w: c.post("/v1/returns", json=return_body(order_id=w.order_a)),
        (401, 201, 404, 201, 201),
    ),
    Row(
        "GET",
        "/v1/returns",
        lambda c, w: c.get("/v1/returns", params={"order_id": w.order_a}),
        (401, 200, 200, 200, 200),
    ),
    Row("GET", "/v1/returns/{return_id}", lambda c, w: c.get(f"/v1/returns/{w.return_a}"), (401, 200, 404, 200, 200)),
    Row(
        "GET",
        "/v1/returns/{return_id}/progress",
        lambda c, w: c.get(f"/v1/returns/{w.return_a}/progress"),
        (401, 200, 404, 200, 200),
    ),
    Row("POST", "/v1/returns/{return_id}/cancel", _cancel, (401, 200, 404, 403, 200)),
    Row("POST", "/v1/returns/{return_id}/urge", _urge, (401, 202, 404, 403, 202)),
    Row(
        "POST",
        "/v1/returns/{return_id}/dispute",
        lambda c, w: c.post(f"/v1/returns/{w.ended_a}/dispute", json={"message": "refund too small"}),
        (401, 201, 404, 403, 201),
    ),
    # Once per return: the owner answers, the service (which may) then finds it answered.
    Row(
        "POST",
        "/v1/returns/{return_id}/survey",
        lambda c, w: c.post(f"/v1/returns/{w.ended_a}/survey", json={"score": 4, "comment": "quick"}),
        (401, 201, 404, 403, 409),
    ),
    # How the parcel leaves: a customer sees its own order's slots; the QR code's token is its own secret.
    Row(
        "GET",
        "/v1/pickup-slots",
        lambda c, w: c.get("/v1/pickup-slots", params={"order_id": w.order_a}),
        (401, 200, 404, 403, 200),
    ),
    Row(
        "GET",
        "/v1/drop-off-codes/{token}.png",
        lambda c, w: c.get("/v1/drop-off-codes/" + "t" * 32 + ".png"),
        (200, 200, 200, 200, 200),
    ),
    # The audit trail: staff and services; a customer may not read it, not even of its own return.
    Row(
        "GET",
        "/v1/returns/{return_id}/audit",
        lambda c, w: c.get(f"/v1/returns/{w.return_a}/audit"),
        (401, 403, 403, 200, 200),
    ),
    # Operator only; the operator gets through to the state check (the return is not under review / received).
    Row(
        "POST",
        "/v1/returns/{return_id}/review",
        lambda c, w: c.post(f"/v1/returns/{w.return_a}/review", json={"decision": "approve"}),
        (401, 403, 403, 409, 403),
    ),
    Row(
        "POST",
        "/v1/returns/{return_id}/inspection",
        lambda c, w: c.post(f"/v1/returns/{w.return_a}/inspection", json=INSPECTION),
        (401, 403, 403, 409, 403),
    ),
    Row(
        "POST",
        "/v1/returns/{return_id}/resolve",
        lambda c, w: c.post(f"/v1/returns/{w.return_a}/resolve", json={"action": "retry_refund"}),
        (401, 403, 403, 409, 403),
    ),
    # Service only.
    Row(
        "POST",
        "/v1/customer-sessions",
        lambda c, w: c.post("/v1/customer-sessions", json={"customer_id": w.customer_a}),
        (401, 403, 403, 403, 201),
    ),
    Row("DELETE", "/v1/api-keys/{key_id}", _revoke, (401, 403, 403, 403, 204)),
    # Carriers sign (test_carrier_signatures); of the bearer credentials only a service key is accepted.
    Row(
        "POST",
        "/v1/carrier-events",
        lambda c, w: c.post(
            "/v1/carrier-events",
            json={"tracking_number": w.tracking_a, "event": "picked_up", "occurred_at": NOW.isoformat()},
        ),
        (401, 403, 403, 403, 202),
    ),
    # Policy: staff read and simulate, the service publishes.
    Row("GET", "/v1/policy", lambda c, w: c.get("/v1/policy"), (401, 403, 403, 200, 200)),
    Row("PUT", "/v1/policy", lambda c, w: c.put("/v1/policy", json=POLICY), (401, 403, 403, 403, 200)),
    Row(
        "POST",
        "/v1/policy/simulate",
        lambda c, w: c.post(
            "/v1/policy/simulate",
            json={"policy": POLICY, "sample_size": 0, "from": (NOW - timedelta(minutes=1)).isoformat()},
        ),
        (401, 403, 403, 200, 200),
    ),
    # Erasure (service only) of a customer of its own, so that A keeps the address its returns ship from.
    Row(
        "DELETE",
        "/v1/customers/{customer_id}/personal-data",
        lambda c, w: c.delete(f"/v1/customers/CZ-{secrets.token_hex(4)}/personal-data"),
        (401, 403, 403, 403, 200),
    ),
    Row("GET", "/v1/metrics/returns", lambda c, w: c.get("/v1/metrics/returns"), (401, 403, 403, 200, 200)),
    # Tickets: read by staff and services, resolved by operators.
    Row("GET", "/v1/tickets", lambda c, w: c.get("/v1/tickets", params={"limit": 1}), (401, 403, 403, 200, 200)),
    Row(
        "POST",
        "/v1/tickets/{ticket_id}/resolve",
        lambda c, w: c.post(f"/v1/tickets/{w.ticket}/resolve", json={"resolution": "checked"}),
        (401, 403, 403, 200, 403),
    ),
    Row("POST", "/v1/evidence", _upload, (401, 201, 201, 403, 201)),
    # Webhooks: the service subscribes; operators may look at deliveries (the dead letters).
    Row("POST", "/v1/webhook-endpoints", _subscribe, (401, 403, 403, 403, 201)),
    Row(
        "GET",
        "/v1/webhook-endpoints",
        lambda c, w: c.get("/v1/webhook-endpoints", params={"limit": 1}),
        (401, 403, 403, 403, 200),
    ),
    Row("DELETE", "/v1/webhook-endpoints/{endpoint_id}", _unsubscribe, (401, 403, 403, 403, 204)),
    Row(
        "GET",
        "/v1/webhook-deliveries",
        lambda c, w: c.get("/v1/webhook-deliveries", params={"limit": 1}),
        (401, 403, 403, 200, 200),
    ),
    # Dead letters are replayed by operators (an unknown delivery: 404 once the role may).
    Row(
        "POST",
        "/v1/webhook-deliveries/{delivery_id}/retry",
        lambda c, w: c.post("/v1/webhook-deliveries/evt_none.whe_none/retry"),
        (401, 403, 403, 404, 403),
    ),
    # The codec server: operators only (anonymous local UI access is off by default).
    Row(
        "POST", "/codec/decode", lambda c, w: c.post("/codec/decode", json={"payloads": []}), (401, 403, 403, 200, 403)
    ),
    Row(
        "POST", "/codec/encode", lambda c, w: c.post("/codec/encode", json={"payloads": []}), (401, 403, 403, 200, 403)
    ),
]


def app_routes() -> set[tuple[str, str]]:
    """Every (method, path) the app serves under the covered prefixes, included routers flattened."""
    app = create_app(Settings())
    return {
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute) and route.path and route.path.startswith(COVERED_PREFIXES)
        for method in route.methods or ()
    }


def test_every_route_has_a_row() -> None:
    rows = [(row.method, row.path) for row in ROWS]
    assert len(rows) == len(set(rows)), "a route has two rows"
    routes = app_routes()
    assert not routes - set(rows), f"routes without a row in the authorization matrix: {sorted(routes - set(rows))}"
    assert not set(rows) - routes, f"rows for routes the app does not have: {sorted(set(rows) - routes)}"


async def test_authorization_matrix(world: World) -> None:
    wrong = []
    for row in ROWS:
        for who, expected in zip(CALLERS, row.expect, strict=True):
            response = await row.call(world.clients[who], world)
            if response.status_code != expected:
                wrong.append(
                    f"{row.method} {row.path} as {who}: {response.status_code}, expected {expected}: "
                    f"{response.text[:200]}"
                )
            elif expected >= 400 and response.headers.get("content-type") != "application/problem+json":
                wrong.append(f"{row.method} {row.path} as {who}: {expected} is not problem+json")
    assert not wrong, "\n".join(wrong)


async def test_a_customer_lists_only_its_own_returns(world: World) -> None:
    owner, other = world.clients["owner"], world.clients["other"]

    mine = (await owner.get("/v1/returns")).json()["items"]
    theirs = (await other.get("/v1/returns")).json()["items"]
    asked_for_a = (await other.get("/v1/returns", params={"customer_id": world.customer_a})).json()["items"]

    assert world.return_a in {item["id"] for item in mine}
    assert {item["customer_id"] for item in mine} == {world.customer_a}
    assert theirs == [] and asked_for_a == []
    own_filter = await owner.get("/v1/returns", params={"customer_id": world.customer_a, "limit": 1})
    assert own_filter.status_code == 200 and len(own_filter.json()["items"]) == 1


async def test_customers_cannot_override_and_cannot_reach_unknown_orders(world: World) -> None:
    owner = world.clients["owner"]
    override = {**return_body(order_id=world.order_a), "override": True, "override_reason": "I insist, please"}

    for path in ("/v1/returns", "/v1/returns/preview"):
        refused = await owner.post(path, json=override)
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        unknown = await owner.post(path, json=return_body(order_id="no-such-order"))
        assert unknown.status_code == 404, unknown.text
    # A service still learns that the order is unknown as a rule broken by the request.
    assert (await world.api.service.post("/v1/returns", json=return_body(order_id="no-such-order"))).status_code == 422
    assert (await owner.get("/v1/returns/ret_unknown")).status_code == 404


async def test_customer_tokens_expire_and_cannot_be_forged(world: World) -> None:
    api = world.api
    minted = await api.service.post("/v1/customer-sessions", json={"customer_id": world.customer_a})
    expires_at = datetime.fromisoformat(minted.json()["expires_at"])
    assert timedelta(minutes=14) < expires_at - datetime.now(UTC) <= timedelta(minutes=15, seconds=1)

    token = minted.json()["token"]
    payload, signature = token.removeprefix("rfc_").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["customer_id"] == world.customer_a
    as_b = base64.urlsafe_b64encode(json.dumps({**claims, "customer_id": world.customer_b}).encode()).rstrip(b"=")
    expired, _ = mint_customer_token(SESSION_SECRET.encode(), world.customer_a, 60, now=time.time() - 120)
    other_secret, _ = mint_customer_token(b"not the secret", world.customer_a, 600)
    for bad in (
        f"rfc_{as_b.decode()}.{signature}",
        expired,
        other_secret,
        "rfc_garbage",
        "rfc_.",
        token + "x",
        f"rfc_{payload}.{signature[:-2]}",
        "rfc_" + "a" * 2000,
    ):
        async with bearer_client(api, bad) as client:
            answer = await client.get(f"/v1/returns/{world.return_a}")
        assert answer.status_code == 401, (bad, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    async with bearer_client(api, token) as client:
        assert (await client.get(f"/v1/returns/{world.return_a}")).status_code == 200
    bad_ids = [{"customer_id": ""}, {"customer_id": "a b"}, {}, {"customer_id": "C1", "role": "service"}]
    for body in bad_ids:
        assert (await api.service.post("/v1/customer-sessions", json=body)).status_code == 422


async def test_a_revoked_key_stops_working(world: World) -> None:
    async with world.database.transaction() as session:
        key_id, secret = await create_api_key(session, "service", label="short-lived")
    async with bearer_client(world.api, secret) as client:
        assert (await client.get("/v1/policy")).status_code == 200
        assert (await world.api.service.delete(f"/v1/api-keys/{key_id}")).status_code == 204
        assert (await client.get("/v1/policy")).status_code == 401
    assert (await world.api.service.delete(f"/v1/api-keys/{key_id}")).status_code == 404


async def test_carrier_signatures(world: World) -> None:
    api = world.api
    body = json.dumps(
        {"tracking_number": world.tracking_a, "event": "picked_up", "occurred_at": NOW.isoformat()}
    ).encode()
    now = int(time.time())

    async def post(signature: str | None, content: bytes = body) -> httpx.Response:
        headers = {"content-type": "application/json", **({"Carrier-Signature": signature} if signature else {})}
        return await api.anonymous.post("/v1/carrier-events", content=content, headers=headers)

    secret = CARRIER_SECRET.encode()
    refused = {
        "forged": carrier_signature(b"guessed", body, now),
        "replayed": carrier_signature(secret, body, now - 301),
        # A minute past the 300 s tolerance: the requests are sent seconds after ``now`` on a loaded machine.
        "from the future": carrier_signature(secret, body, now + 360),
        "for another body": carrier_signature(secret, body.replace(b"picked_up", b"delivered"), now),
        "malformed": "v1=abc",
        "no timestamp": "t=x,v1=" + "0" * 64,
        "not a signature": "hello",
    }
    for what, signature in refused.items():
        answer = await post(signature)
        assert answer.status_code == 401, (what, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    assert (await post(None)).status_code == 401
    await asyncio.sleep(0.3)
    still = (await api.service.get(f"/v1/returns/{world.return_a}")).json()
    assert still["status"] == "awaiting_shipment", "a refused event changed the return"

    accepted = await post(carrier_signature(secret, body, now - 60))
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["return_id"] == world.return_a
    await wait_for_status(api, world.return_a, "in_transit")
    # A duplicate of a signed event is harmless.
    assert (await post(carrier_signature(secret, body, now))).status_code == 202


def test_tokens_round_trip_and_a_missing_secret_falls_back_per_process() -> None:
    token, expires = mint_customer_token(b"k", "C-1", 60, now=1_000_000)
    assert token.startswith("rfc_") and expires == datetime.fromtimestamp(1_000_060, UTC)
    assert verify_customer_token(b"k", token, now=1_000_059) == "C-1"
    with pytest.raises(Problem) as expired:
        verify_customer_token(b"k", token, now=1_000_060)
    assert expired.value.status == 401 and "expired" in expired.value.detail
    with pytest.raises(Problem):
        verify_customer_token(b"other", token, now=1_000_000)

    unset = Settings(session_secret="")
    assert session_secret(unset) == session_secret(unset) and len(session_secret(unset)) == 32
    assert session_secret(Settings(session_secret="configured")) == b"configured"
