"""Webhooks and customer notifications: the outbox, the endpoints API, signed delivery with retries and dead letters.

Delivery runs as ``DeliverWebhooksWorkflow`` on a real worker and the real Temporal
dev server; the tests start it by hand instead of waiting for its schedule, and
make time pass by moving ``next_attempt_at`` (and an event's ``created_at``) back.
"""

import hashlib
import hmac
import ipaddress
import json
import random
import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from domain.returns import Decision, Logistics, Refund, ReturnLine, ReturnView, Status
from messages import housekeeping as hk
from returnflow import ssrf
from returnflow.codec import EncryptionCodec
from returnflow.serve import serve_app
from store import webhook_deliveries as deliveries
from store import webhook_endpoints
from store.api_keys import create_api_key
from store.db import Database
from store.returns import save_return
from store.tables import CustomerNotification, OutboxEvent, WebhookDelivery, WebhookEndpoint
from tests.api_client import Callers, default_policy, put_order, wait_for_status
from tests.conftest import (
    TEST_CODEC_KEYS,
    Run,
    forget_earlier_deliveries,
    running_worker,
    settings_for,
)
from tests.factories import return_body
from workflows.housekeeping import DeliverWebhooksWorkflow, PruneOutboxWorkflow

CODEC = EncryptionCodec.from_text(TEST_CODEC_KEYS)


class Receiver:
    """A merchant's webhook endpoint that answers 500 to its first ``failures`` requests, then 204."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.requests: list[tuple[dict[str, str], bytes, int]] = []

    async def hook(self, request: Request) -> Response:
        status = 500 if len(self.requests) < self.failures else 204
        self.requests.append((dict(request.headers), await request.body(), status))
        return Response(status_code=status)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    def accepted(self) -> list[tuple[dict[str, str], bytes]]:
        return [(headers, body) for headers, body, status in self.requests if status < 300]


@pytest.fixture(autouse=True)
async def only_this_tests_endpoints(database: Database) -> None:
    """A retried delivery of an earlier test's endpoint would otherwise come due while this test waits."""
    await forget_earlier_deliveries(database)


def verify(secret: str, header: str, body: bytes, now: int) -> bool:
    """The README's recipe, written out as a receiver would."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    timestamp = int(fields["t"])
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return abs(now - timestamp) <= 300 and hmac.compare_digest(expected, fields["v1"])


async def deliveries_to(database: Database, endpoint_id: str) -> list[WebhookDelivery]:
    async with database.sessions() as session:
        return list(
            (await session.scalars(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id))).all()
        )


async def make_due(database: Database, endpoint_id: str) -> None:
    """Let the backoff pass."""
    async with database.transaction() as session:
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
        )


async def events_of(database: Database, return_id: str) -> list[OutboxEvent]:
    async with database.sessions() as session:
        return list(
            (
                await session.scalars(
                    select(OutboxEvent).where(OutboxEvent.return_id == return_id).order_by(OutboxEvent.created_at)
                )
            ).all()
        )


async def test_a_failing_endpoint_gets_the_event_once_it_recovers_signed(
    api: Callers, database: Database, housekeeper: Run
) -> None:
    await default_policy(api)
    receiver = Receiver(failures=2)
    async with serve_app(receiver.app()) as receiver_url:
        created = await api.service.post(
            "/v1/webhook-endpoints",
            json={"url": f"{receiver_url}/hook", "events": ["return.approved", "return.canceled"]},
        )
        assert created.status_code == 201, created.text
        endpoint = created.json()
        assert endpoint["secret"].startswith("whsec_") and endpoint["events"] == ["return.approved", "return.canceled"]
        async with database.sessions() as session:
            stored = await session.get(WebhookEndpoint, endpoint["id"])
        assert stored is not None and endpoint["secret"] not in stored.encrypted_secret
        assert "whsec_" not in stored.encrypted_secret, "the database keeps the secret sealed"
        try:
            order_id = await put_order(api)
            ret = (await api.service.post("/v1/returns", json=return_body(order_id=order_id))).json()
            await wait_for_status(api, ret["id"], "awaiting_shipment")
            [pending] = await deliveries_to(database, endpoint["id"])
            assert pending.state == "pending" and pending.attempts == 0

            await housekeeper(DeliverWebhooksWorkflow.run, hk.DeliverEvents())
            [failed] = await deliveries_to(database, endpoint["id"])
            assert (failed.state, failed.attempts, len(receiver.requests)) == ("pending", 1, 1)
            assert failed.last_error and "500" in failed.last_error

            await housekeeper(DeliverWebhooksWorkflow.run, hk.DeliverEvents())
            assert len(receiver.requests) == 1, "not retried before its backoff has passed"

            for attempt in (2, 3):
                await make_due(database, endpoint["id"])
                await housekeeper(DeliverWebhooksWorkflow.run, hk.DeliverEvents())
                assert len(receiver.requests) == attempt
            [delivered] = await deliveries_to(database, endpoint["id"])
            assert (delivered.state, delivered.attempts) == ("delivered", 3)
            await make_due(database, endpoint["id"])
            await housekeeper(DeliverWebhooksWorkflow.run, hk.DeliverEvents())
            assert len(receiver.requests) == 3, "a delivered event is not sent again"

            [(headers, body)] = receiver.accepted()
            assert verify(endpoint["secret"], headers["returnflow-signature"], body, int(datetime.now(UTC).timestamp()))
            assert not verify(
                endpoint["secret"], headers["returnflow-signature"], body + b" ", int(datetime.now(UTC).timestamp())
            )
            assert headers["content-type"] == "application/json"
            event = json.loads(body)
            assert set(event) == {"id", "type", "created_at", "data"}
            assert event["id"] == headers["returnflow-event-id"] and event["id"].startswith("evt_")
            assert event["type"] == "return.approved"
            # Approved and booked in one step: the event of the status passed carries the Return as that step left it.
            assert event["data"]["id"] == ret["id"] and event["data"]["status"] == "awaiting_shipment"
            assert "approved" in [entry["status"] for entry in event["data"]["timeline"]]
            assert datetime.fromisoformat(event["created_at"]).tzinfo is not None
            assert {json.loads(b)["id"] for _, b, _ in receiver.requests} == {event["id"]}, "retries keep the id"

            canceled = await api.service.post(f"/v1/returns/{ret['id']}/cancel", json={})
            assert canceled.status_code == 200, canceled.text
            await wait_for_status(api, ret["id"], "canceled")
            await housekeeper(DeliverWebhooksWorkflow.run, hk.DeliverEvents())
            second = json.loads(receiver.accepted()[-1][1])
            assert second["type"] == "return.canceled" and second["id"] != event["id"]
        finally:
            assert (await api.service.delete(f"/v1/webhook-endpoints/{endpoint['id']}")).status_code == 204

    events = await events_of(database, ret["id"])
    assert [e.type for e in events] == ["return.approved", "return.awaiting_shipment", "return.canceled"]
    assert len({e.id for e in events}) == len(events)


async def test_customers_hear_about_the_statuses_that_concern_them_once(
    api: Callers, database: Database, housekeeper: Run
) -> None:
    await default_policy(api)
    order_id = await put_order(api)
    ret = (await api.service.post("/v1/returns", json=return_body(order_id=order_id))).json()
    await wait_for_status(api, ret["id"], "awaiting_shipment")
    await api.service.post(f"/v1/returns/{ret['id']}/cancel", json={})
    await wait_for_status(api, ret["id"], "canceled")

    # Other tests leave notifications behind: run until this return's are out.
    for _ in range(20):
        await housekeeper(DeliverWebhooksWorkflow.run, hk.DeliverEvents())
        async with database.sessions() as session:
            states = (
                await session.scalars(
                    select(CustomerNotification.state).join(OutboxEvent).where(OutboxEvent.return_id == ret["id"])
                )
            ).all()
        if set(states) == {"sent"}:
            break
    await housekeeper(DeliverWebhooksWorkflow.run, hk.DeliverEvents())

    sent = (await api.sandbox.get("/notifications", params={"reference": ret["id"]})).json()["items"]
    assert [n["template"] for n in sent] == ["return_approved", "return_awaiting_shipment", "return_canceled"]
    assert {n["idempotency_key"] for n in sent} == {e.id for e in await events_of(database, ret["id"])}
    assert sent[0]["customer_id"] == ret["customer_id"] and sent[1]["data"]["logistics"]["tracking_number"]


async def test_a_delivery_is_dead_after_the_retry_period_and_listed_for_operators(
    api: Callers, database: Database, housekeeper: Run
) -> None:
    await default_policy(api)
    receiver = Receiver(failures=2)
    async with serve_app(receiver.app()) as receiver_url:
        endpoint = (
            await api.service.post(
                "/v1/webhook-endpoints", json={"url": f"{receiver_url}/hook", "events": ["return.approved"]}
            )
        ).json()
        try:
            order_id = await put_order(api)
            ret = (await api.service.post("/v1/returns", json=return_body(order_id=order_id))).json()
            await wait_for_status(api, ret["id"], "awaiting_shipment")
            await housekeeper(DeliverWebhooksWorkflow.run, hk.DeliverEvents())
            [delivery] = await deliveries_to(database, endpoint["id"])
            assert delivery.state == "pending"

            async with database.transaction() as session:  # a day has passed
                await session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.id == delivery.event_id)
                    .values(created_at=datetime.now(UTC) - timedelta(hours=24, minutes=1))
                )
            await make_due(database, endpoint["id"])
            await housekeeper(DeliverWebhooksWorkflow.run, hk.DeliverEvents())
            [dead] = await deliveries_to(database, endpoint["id"])
            assert (dead.state, dead.attempts) == ("dead", 2)

            await make_due(database, endpoint["id"])
            await housekeeper(DeliverWebhooksWorkflow.run, hk.DeliverEvents())
            assert len(receiver.requests) == 2, "a dead letter is not retried"

            for caller in (api.operator, api.service):
                listed = await caller.get(
                    "/v1/webhook-deliveries", params={"state": "dead", "endpoint_id": endpoint["id"]}
                )
                assert listed.status_code == 200, listed.text
                [item] = listed.json()["items"]
                assert item["event_id"] == delivery.event_id and item["event_type"] == "return.approved"
                assert item["return_id"] == ret["id"] and item["state"] == "dead" and item["attempts"] == 2
                assert "500" in item["last_error"] and item["next_attempt_at"] is None
                assert datetime.fromisoformat(item["event_created_at"]).tzinfo is not None
                assert item["id"] == f"{delivery.event_id}.{endpoint['id']}"

            # The receiver is fixed: an operator replays the dead letter, and the next run delivers it.
            retry = f"/v1/webhook-deliveries/{item['id']}/retry"
            assert (await api.service.post(retry)).status_code == 403, "operators replay dead letters"
            replayed = await api.operator.post(retry)
            assert replayed.status_code == 202, replayed.text
            assert replayed.json()["state"] == "pending" and replayed.json()["attempts"] == 2
            again = await api.operator.post(retry)
            assert again.status_code == 409 and "pending" in again.json()["detail"]
            assert again.headers["content-type"] == "application/problem+json"
            unknown = await api.operator.post(f"/v1/webhook-deliveries/{delivery.event_id}.whe_nobody/retry")
            assert unknown.status_code == 404
            await housekeeper(DeliverWebhooksWorkflow.run, hk.DeliverEvents())
            [delivered] = await deliveries_to(database, endpoint["id"])
            assert (delivered.state, delivered.attempts, len(receiver.requests)) == ("delivered", 3, 3)
            [(headers, body)] = receiver.accepted()
            assert verify(endpoint["secret"], headers["returnflow-signature"], body, int(datetime.now(UTC).timestamp()))
            assert (await api.operator.post(retry)).status_code == 409, "a delivered event is not replayed"
        finally:
            await api.service.delete(f"/v1/webhook-endpoints/{endpoint['id']}")


async def test_endpoints_are_validated_listed_without_secrets_and_deleted(api: Callers) -> None:
    good = {"url": "https://hooks.example.invalid/returnflow", "events": ["return.completed"]}
    for bad in (
        {**good, "url": "ftp://hooks.example.invalid/x"},
        {**good, "url": "not a url"},
        {**good, "url": "https:///no-host"},
        {**good, "url": "https://user:pw@hooks.example.invalid/"},
        {**good, "events": []},
        {**good, "events": ["return.bogus"]},
        {**good, "events": ["approved"]},
        {**good, "extra": True},
        {"url": good["url"]},
    ):
        refused = await api.service.post("/v1/webhook-endpoints", json=bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["errors"]

    for call in (
        api.operator.post("/v1/webhook-endpoints", json=good),
        api.operator.get("/v1/webhook-endpoints"),
        api.operator.delete("/v1/webhook-endpoints/whe_x"),
    ):
        forbidden = await call
        assert forbidden.status_code == 403 and forbidden.headers["content-type"] == "application/problem+json"
    assert (await api.anonymous.get("/v1/webhook-endpoints")).status_code == 401

    created = (
        await api.service.post(
            "/v1/webhook-endpoints",
            json={**good, "events": ["return.completed", "return.needs_attention", "return.completed"]},
        )
    ).json()
    assert created["events"] == ["return.completed", "return.needs_attention"]
    listed = (await api.service.get("/v1/webhook-endpoints", params={"limit": 100})).json()
    [mine] = [item for item in listed["items"] if item["id"] == created["id"]]
    assert "secret" not in mine and mine["url"] == good["url"]
    assert datetime.fromisoformat(mine["created_at"]).tzinfo is not None
    assert (await api.service.delete(f"/v1/webhook-endpoints/{created['id']}")).status_code == 204
    assert (await api.service.delete(f"/v1/webhook-endpoints/{created['id']}")).status_code == 404
    listed = (await api.service.get("/v1/webhook-endpoints", params={"limit": 100})).json()
    assert created["id"] not in [item["id"] for item in listed["items"]]
    assert (await api.service.get("/v1/webhook-deliveries", params={"cursor": "nonsense"})).status_code == 422
    assert (await api.service.get("/v1/webhook-endpoints", params={"cursor": "nonsense"})).status_code == 422


def _view(status: Status, return_id: str) -> ReturnView:
    now = datetime.now(UTC)
    return ReturnView(
        id=return_id,
        order_id="O-outbox",
        customer_id="C-outbox",
        status=status,
        lines=[
            ReturnLine(line_id="L1", quantity=1, reason="defective", liability="merchant", unit_price=Decimal("19.99"))
        ],
        decision=Decision(outcome="auto_approved"),
        logistics=Logistics(method="mail"),
        refund=Refund(amount=Decimal("19.99"), currency="USD"),
        policy_version=1,
        created_at=now,
        updated_at=now,
    )


async def test_a_retried_read_model_write_announces_nothing_twice(database: Database) -> None:
    return_id = "ret_outbox" + secrets.token_hex(6)
    writes = [
        (Status.APPROVED, 1),
        (Status.APPROVED, 1),  # the first write, then its retry
        (Status.APPROVED, 2),  # a timeline note: same status
        (Status.AWAITING_SHIPMENT, 3),
        (Status.AWAITING_SHIPMENT, 3),
        (Status.APPROVED, 2),
    ]  # late, stale
    for status, revision in writes:
        async with database.transaction() as session:
            await save_return(session, _view(status, return_id), revision)

    events = await events_of(database, return_id)
    assert [e.type for e in events] == ["return.approved", "return.awaiting_shipment"]
    assert events[0].payload["id"] == return_id and events[0].payload["status"] == "approved"


def test_backoff_doubles_from_30_seconds_up_to_an_hour() -> None:
    rng = random.Random(1)
    delays = [deliveries.backoff(attempt, rng).total_seconds() for attempt in range(1, 12)]
    assert 27 <= delays[0] <= 33 and 54 <= delays[1] <= 66
    assert all(3240 <= delay <= 3960 for delay in delays[8:])
    assert deliveries.backoff(10_000, rng) <= timedelta(hours=1.1)


def test_the_signature_recipe() -> None:
    body, secret, now = b'{"id":"evt_1"}', "whsec_test", datetime.now(UTC)
    header = deliveries.sign(secret, int(now.timestamp()), body)
    assert deliveries.verify_signature(secret, header, body, now)
    assert verify(secret, header, body, int(now.timestamp()))
    assert not deliveries.verify_signature("whsec_other", header, body, now)
    assert not deliveries.verify_signature(secret, header, body + b" ", now)
    assert not deliveries.verify_signature(secret, header, body, now + timedelta(minutes=6)), "replayed too late"
    assert not deliveries.verify_signature(secret, "v1=abc", body, now)


class Redirector:
    """A receiver that answers every delivery with a redirect to another of its paths."""

    def __init__(self) -> None:
        self.followed = 0

    async def hook(self, request: Request) -> Response:
        return Response(status_code=307, headers={"location": "/elsewhere"})

    async def elsewhere(self, request: Request) -> Response:
        self.followed += 1
        return Response(status_code=204)

    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/hook", self.hook, methods=["POST"]), Route("/elsewhere", self.elsewhere, methods=["POST"])]
        )


async def test_a_redirect_is_a_failed_attempt_and_is_not_followed(
    api: Callers, database: Database, housekeeper: Run
) -> None:
    redirector = Redirector()
    async with serve_app(redirector.app()) as receiver_url:
        endpoint = (
            await api.service.post(
                "/v1/webhook-endpoints", json={"url": f"{receiver_url}/hook", "events": ["return.approved"]}
            )
        ).json()
        try:
            async with database.transaction() as session:
                await save_return(session, _view(Status.APPROVED, "ret_redirect" + secrets.token_hex(6)), 1)
            await housekeeper(DeliverWebhooksWorkflow.run, hk.DeliverEvents())
            [attempted] = await deliveries_to(database, endpoint["id"])
            assert (attempted.state, attempted.attempts) == ("pending", 1)
            assert attempted.last_error and "307" in attempted.last_error and "not followed" in attempted.last_error
            assert redirector.followed == 0
        finally:
            await api.service.delete(f"/v1/webhook-endpoints/{endpoint['id']}")


async def test_internal_addresses_are_refused_when_registered_and_when_a_name_rebinds_to_one(
    local_env: WorkflowEnvironment, database: Database, sandbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without webhook_allow_private_addresses: a loopback URL is refused at once; a name that answered a public
    address when it was registered and 127.0.0.1 when the worker sends (DNS rebinding) is refused at delivery,
    and the receiver listening there hears nothing."""
    answers = {"hooks.rebinding.test": [ipaddress.ip_address("93.184.216.34")]}
    real_resolver = ssrf.resolve_addresses

    async def rebinding(host: str, port: int) -> list[ssrf.IPAddress]:
        return answers[host] if host in answers else await real_resolver(host, port)

    monkeypatch.setattr(ssrf, "resolve_addresses", rebinding)
    strict = settings_for(sandbox_url, database).model_copy(update={"webhook_allow_private_addresses": False})
    async with database.transaction() as session:
        _, service_key = await create_api_key(session, "service")
    receiver = Receiver(failures=0)
    async with (
        serve_app(receiver.app()) as receiver_url,
        running_worker(local_env.client, strict, database),
        serve_app(create_app(strict, temporal=local_env.client, database=database)) as api_url,
        httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {service_key}"}) as service,
    ):
        port = int(receiver_url.rsplit(":", 1)[1])
        for internal in (f"http://127.0.0.1:{port}/hook", f"http://localhost:{port}/hook", "http://10.0.0.8/hook"):
            refused = await service.post("/v1/webhook-endpoints", json={"url": internal, "events": ["return.approved"]})
            assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
            [error] = refused.json()["errors"]
            assert error["field"] == "url" and error["code"] == "address_not_allowed"
            assert "public addresses only" in error["message"], error

        created = await service.post(
            "/v1/webhook-endpoints",
            json={"url": f"http://hooks.rebinding.test:{port}/hook", "events": ["return.approved"]},
        )
        assert created.status_code == 201, created.text
        endpoint_id = created.json()["id"]
        try:
            answers["hooks.rebinding.test"] = [ipaddress.ip_address("127.0.0.1")]
            async with database.transaction() as session:
                await save_return(session, _view(Status.APPROVED, "ret_rebind" + secrets.token_hex(6)), 1)
            await local_env.client.execute_workflow(
                DeliverWebhooksWorkflow.run,
                hk.DeliverEvents(),
                id="test-rebinding-" + secrets.token_hex(6),
                task_queue=strict.task_queue,
            )
            [refused_delivery] = await deliveries_to(database, endpoint_id)
            assert (refused_delivery.state, refused_delivery.attempts) == ("pending", 1)
            assert refused_delivery.last_error and "127.0.0.1 is a loopback address" in refused_delivery.last_error
            assert receiver.requests == [], "nothing reached the address the name rebound to"
        finally:
            assert (await service.delete(f"/v1/webhook-endpoints/{endpoint_id}")).status_code == 204


async def test_old_events_whose_sending_is_over_are_pruned_in_batches(database: Database, housekeeper: Run) -> None:
    """Past the retention (30 days): an ended return's events go, with their delivered and dead deliveries and
    their notifications; what is still being sent, an open return's events and recent ones stay."""
    async with database.transaction() as session:
        endpoint = await webhook_endpoints.create_endpoint(
            session, "https://hooks.example.invalid/retention", ["return.approved", "return.completed"], CODEC
        )
    ended, busy, open_return, recent = ("ret_prune" + secrets.token_hex(6) for _ in range(4))
    for return_id, statuses in (
        (ended, [Status.APPROVED, Status.COMPLETED]),
        (busy, [Status.COMPLETED]),
        (open_return, [Status.APPROVED]),
        (recent, [Status.COMPLETED]),
    ):
        for revision, status in enumerate(statuses, start=1):
            async with database.transaction() as session:
                await save_return(session, _view(status, return_id), revision)
    old = datetime.now(UTC) - timedelta(days=31)
    async with database.transaction() as session:
        for return_id in (ended, busy, open_return):
            await session.execute(update(OutboxEvent).where(OutboxEvent.return_id == return_id).values(created_at=old))
        finished = select(OutboxEvent.id).where(OutboxEvent.return_id.in_([ended, open_return, recent]))
        await session.execute(
            update(CustomerNotification).where(CustomerNotification.event_id.in_(finished)).values(state="sent")
        )
        [first, second] = [event.id for event in await events_of(database, ended)]
        await session.execute(update(WebhookDelivery).where(WebhookDelivery.event_id == first).values(state="dead"))
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.event_id.in_(finished))
            .where(WebhookDelivery.event_id != first)
            .values(state="delivered")
        )

    report = await housekeeper(PruneOutboxWorkflow.run, hk.PruneOutbox(batch=1))

    assert report.deleted >= 2
    assert await events_of(database, ended) == []
    async with database.sessions() as session:
        for table in (WebhookDelivery, CustomerNotification):
            left = await session.scalars(select(table.event_id).where(table.event_id.in_([first, second])))
            assert left.all() == [], f"{table.__tablename__} of pruned events are gone"
    assert [e.type for e in await events_of(database, busy)] == ["return.completed"], "its delivery is pending"
    assert len(await events_of(database, open_return)) == 1, "an open return keeps its events"
    assert len(await events_of(database, recent)) == 1, "a recent event stays"
    assert (await housekeeper(PruneOutboxWorkflow.run, hk.PruneOutbox())).deleted == 0
    async with database.transaction() as session:
        await webhook_endpoints.disable_endpoint(session, endpoint.id)
