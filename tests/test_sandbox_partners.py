"""The sandbox partners service, driven over real HTTP through the real connectors."""

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from connectors.carrier import HttpCarrier, ShipmentRequest
from connectors.errors import PartnerRejected, PartnerUnavailable
from connectors.payments import HttpPayments, RefundRequest
from connectors.warehouse import HttpWarehouse, IntakeLine, IntakeRequest
from returnflow.serve import serve_app
from sandbox.app import create_app


@dataclass
class Partners:
    base_url: str
    client: httpx.AsyncClient
    carrier: HttpCarrier
    payments: HttpPayments
    warehouse: HttpWarehouse

    async def fault(self, operation: str, mode: str, times: int = 1, **extra: object) -> None:
        response = await self.client.post(
            f"{self.base_url}/sandbox/faults", json={"operation": operation, "mode": mode, "times": times, **extra}
        )
        assert response.status_code == 201, response.text

    async def get(self, path: str, **params: str) -> dict:
        response = await self.client.get(f"{self.base_url}{path}", params=params)
        assert response.status_code == 200, response.text
        return response.json()


def partners_at(base_url: str, client: httpx.AsyncClient) -> Partners:
    return Partners(
        base_url, client, HttpCarrier(client, base_url), HttpPayments(client, base_url), HttpWarehouse(client, base_url)
    )


@pytest.fixture(scope="module")
async def sandbox() -> AsyncIterator[Partners]:
    async with serve_app(create_app()) as base_url, httpx.AsyncClient(timeout=5) as client:
        yield partners_at(base_url, client)


@pytest.fixture
async def partners(sandbox: Partners) -> Partners:
    response = await sandbox.client.post(f"{sandbox.base_url}/sandbox/reset")
    assert response.status_code == 200
    return sandbox


def refund_request(key: str = "refund:ret_1", amount: str = "19.99", **overrides: str) -> RefundRequest:
    fields = {
        "idempotency_key": key,
        "payment_id": "pay_1",
        "provider_ref": "ch_1",
        "amount": amount,
        "currency": "USD",
        "reference": "ret_1",
        **overrides,
    }
    return RefundRequest.model_validate(fields)


async def test_health(partners: Partners) -> None:
    assert await partners.get("/health") == {"status": "ok"}


async def test_shipment_is_booked_once_per_key_and_can_be_canceled(partners: Partners) -> None:
    request = ShipmentRequest(
        idempotency_key="ship:ret_1",
        reference="ret_1",
        method="pickup",
        pickup_slot={"start": "2030-01-02T09:00:00Z", "end": "2030-01-02T12:00:00Z"},
        from_address={"line1": "1 Main St", "city": "Springfield", "country": "US"},
    )
    shipment = await partners.carrier.create_shipment(request)
    assert shipment.carrier == "sandbox-post"
    assert re.fullmatch(r"SBX[0-9A-Z]{12}", shipment.tracking_number)
    assert await partners.carrier.create_shipment(request) == shipment

    label = await partners.client.get(shipment.label_url)
    assert label.status_code == 200
    assert shipment.tracking_number in label.text

    other = await partners.carrier.create_shipment(request.model_copy(update={"idempotency_key": "ship:ret_2"}))
    assert other.tracking_number != shipment.tracking_number

    await partners.carrier.cancel_shipment(shipment.tracking_number)
    await partners.carrier.cancel_shipment(shipment.tracking_number)  # twice is fine
    items = {s["tracking_number"]: s for s in (await partners.get("/carrier/shipments"))["items"]}
    assert len(items) == 2
    assert items[shipment.tracking_number]["status"] == "canceled"
    assert items[other.tracking_number]["status"] == "booked"

    with pytest.raises(PartnerRejected) as rejected:
        await partners.carrier.cancel_shipment("SBXNOSUCHTHING0")
    assert rejected.value.code == "not_found"


async def test_refund_happens_once_per_idempotency_key(partners: Partners) -> None:
    results = [await partners.payments.refund(refund_request()) for _ in range(3)]
    assert results[0].status == "succeeded"
    assert {r.refund_id for r in results} == {results[0].refund_id}

    items = (await partners.get("/payments/refunds"))["items"]
    assert len(items) == 1
    assert items[0]["idempotency_key"] == "refund:ret_1"
    assert items[0]["amount"] == "19.99"
    assert Decimal(items[0]["amount"]) == Decimal("19.99")

    with pytest.raises(PartnerRejected) as rejected:
        await partners.payments.refund(refund_request(amount="20.00"))
    assert rejected.value.code == "idempotency_key_reused"
    with pytest.raises(PartnerRejected) as rejected:
        await partners.payments.refund(refund_request(payment_id="pay_2"))
    assert rejected.value.code == "idempotency_key_reused"
    assert len((await partners.get("/payments/refunds"))["items"]) == 1
    assert (await partners.get("/payments/refunds", reference="ret_other"))["items"] == []


@pytest.mark.parametrize("amount", [19.99, "-1.00", "0", "0.00", "abc", "1e3", "19.999", None])
async def test_refund_amount_must_be_a_positive_decimal_string(partners: Partners, amount: object) -> None:
    body = {**refund_request().model_dump(mode="json"), "amount": amount}
    response = await partners.client.post(f"{partners.base_url}/payments/refunds", json=body)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_amount"
    assert (await partners.get("/payments/refunds"))["items"] == []


async def test_unavailable_records_nothing_and_the_retry_succeeds(partners: Partners) -> None:
    await partners.fault("payments.refund", "unavailable")
    with pytest.raises(PartnerUnavailable) as unavailable:
        await partners.payments.refund(refund_request())
    assert unavailable.value.status == 503
    assert (await partners.get("/payments/refunds"))["items"] == []

    result = await partners.payments.refund(refund_request())
    assert result.status == "succeeded"
    assert [r["refund_id"] for r in (await partners.get("/payments/refunds"))["items"]] == [result.refund_id]


async def test_faults_are_consumed_per_call_and_per_operation(partners: Partners) -> None:
    await partners.fault("carrier.create_shipment", "unavailable", times=2)
    request = ShipmentRequest(idempotency_key="ship:ret_9", reference="ret_9", method="mail")
    line = IntakeLine(sku="A", quantity=1, disposition="dispose", condition="damaged")
    await partners.warehouse.intake(IntakeRequest(idempotency_key="in:x", reference="x", lines=[line]))  # unaffected
    for _ in range(2):
        with pytest.raises(PartnerUnavailable):
            await partners.carrier.create_shipment(request)
    assert (await partners.get("/carrier/shipments"))["items"] == []
    assert (await partners.carrier.create_shipment(request)).tracking_number.startswith("SBX")

    await partners.fault("warehouse.intake", "decline")
    with pytest.raises(PartnerRejected) as rejected:
        await partners.warehouse.intake(
            IntakeRequest(
                idempotency_key="in:y",
                reference="y",
                lines=[IntakeLine(sku="A", quantity=1, disposition="restock", condition="as_new")],
            )
        )
    assert rejected.value.code == "rejected"

    await partners.fault("payments.refund", "slow", delay_seconds=0.05)
    assert (await partners.payments.refund(refund_request())).status == "succeeded"

    await partners.fault("payments.refund", "unavailable")
    assert (await partners.client.delete(f"{partners.base_url}/sandbox/faults")).status_code == 200
    assert (await partners.payments.refund(refund_request())).status == "succeeded"


async def test_concurrent_calls_with_one_key_make_one_refund(partners: Partners) -> None:
    results = await asyncio.gather(*(partners.payments.refund(refund_request()) for _ in range(5)))
    assert len({r.refund_id for r in results}) == 1
    assert len((await partners.get("/payments/refunds"))["items"]) == 1


async def test_a_timed_out_refund_is_not_made_twice_by_the_retry(partners: Partners) -> None:
    await partners.fault("payments.refund", "slow", delay_seconds=0.3)
    async with httpx.AsyncClient(timeout=0.05) as impatient:
        with pytest.raises(PartnerUnavailable):
            await HttpPayments(impatient, partners.base_url).refund(refund_request())
    retried = await partners.payments.refund(refund_request())
    await asyncio.sleep(0.4)  # let the slow first call finish on the server
    items = (await partners.get("/payments/refunds"))["items"]
    assert [i["refund_id"] for i in items] == [retried.refund_id]


async def test_decline_is_a_rejection(partners: Partners) -> None:
    await partners.fault("payments.refund", "decline")
    with pytest.raises(PartnerRejected) as rejected:
        await partners.payments.refund(refund_request())
    assert rejected.value.code == "card_declined"
    assert rejected.value.status == 402
    assert (await partners.get("/payments/refunds"))["items"] == []


async def test_warehouse_intake_restocks_once(partners: Partners) -> None:
    request = IntakeRequest(
        idempotency_key="intake:ret_1",
        reference="ret_1",
        lines=[
            IntakeLine(sku="TEE-RED-L", quantity=2, disposition="restock", condition="as_new"),
            IntakeLine(sku="MUG-1", quantity=1, disposition="dispose", condition="damaged"),
        ],
    )
    first = await partners.warehouse.intake(request)
    assert (await partners.warehouse.intake(request)).intake_id == first.intake_id
    assert await partners.get("/warehouse/stock") == {"TEE-RED-L": 2}
    intakes = (await partners.get("/warehouse/intakes"))["items"]
    assert [i["intake_id"] for i in intakes] == [first.intake_id]
    assert intakes[0]["lines"][0] == request.lines[0].model_dump()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/payments/refunds", {"idempotency_key": "k"}),
        ("POST", "/carrier/shipments", {"idempotency_key": "k", "reference": "r", "method": "teleport"}),
        ("POST", "/warehouse/intakes", {"idempotency_key": "k", "reference": "r", "lines": []}),
        ("POST", "/sandbox/faults", {"operation": "payments.refund", "mode": "explode"}),
        ("POST", "/payments/refunds", "not json"),
        ("GET", "/nowhere", None),
        ("DELETE", "/payments/refunds", None),
    ],
)
async def test_bad_input_is_a_json_4xx(partners: Partners, method: str, path: str, body: object) -> None:
    kwargs = {"content": body} if isinstance(body, str) else {"json": body}
    response = await partners.client.request(method, f"{partners.base_url}{path}", **kwargs)
    assert 400 <= response.status_code < 500
    assert {"code", "message"} <= response.json().keys()


async def test_unreachable_partner_is_unavailable(partners: Partners) -> None:
    with socket.socket() as sock:  # a port nobody listens on once this is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(PartnerUnavailable):
        await HttpPayments(partners.client, f"http://127.0.0.1:{port}").refund(refund_request())


async def test_state_survives_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.db")
    async with serve_app(create_app(db)) as base_url, httpx.AsyncClient(timeout=5) as client:
        partners = partners_at(base_url, client)
        refund = await partners.payments.refund(refund_request())
        shipment = await partners.carrier.create_shipment(
            ShipmentRequest(idempotency_key="ship:ret_1", reference="ret_1", method="drop_off")
        )
        await partners.warehouse.intake(
            IntakeRequest(
                idempotency_key="in:ret_1",
                reference="ret_1",
                lines=[IntakeLine(sku="TEE", quantity=3, disposition="restock", condition="opened")],
            )
        )

    async with serve_app(create_app(db)) as base_url, httpx.AsyncClient(timeout=5) as client:
        partners = partners_at(base_url, client)
        assert (await partners.payments.refund(refund_request())).refund_id == refund.refund_id
        assert len((await partners.get("/payments/refunds"))["items"]) == 1
        again = await partners.carrier.create_shipment(
            ShipmentRequest(idempotency_key="ship:ret_1", reference="ret_1", method="drop_off")
        )
        assert again.tracking_number == shipment.tracking_number
        assert again.label_url.startswith(base_url)  # built for where the service runs now
        assert await partners.get("/warehouse/stock") == {"TEE": 3}
