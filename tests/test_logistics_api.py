"""Over HTTP: the carrier's pickup slots, refusing a slot it does not offer, and a drop-off return handed in
at a counter by its QR code (the sandbox carrier reports the scan, signed) through to its refund."""

import io
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import segno

from domain.returns import Status
from returnflow.settings import Settings
from store.db import Database
from tests.api_client import Callers, carrier, default_policy, put_order, wait_for_status
from tests.factories import NOW, order_body, return_body
from tests.test_console_queues import signed_in, stored_return
from tests.test_console_return import text
from tests.test_console_sessions import form_token

CARRIER_SECRET = "test-carrier-secret-" + "z" * 24
US_ADDRESS = {"name": "Ada", "line1": "3 Elm St", "city": "Springfield", "postal_code": "12346", "country": "US"}


@pytest.fixture(autouse=True)
def carrier_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app under test reads it when the ``api`` fixture builds its Settings."""
    monkeypatch.setenv("RETURNFLOW_CARRIER_WEBHOOK_SECRET", CARRIER_SECRET)


async def slots_of(api: Callers, order_id: str) -> list[dict[str, str]]:
    response = await api.service.get("/v1/pickup-slots", params={"order_id": order_id})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def shifted(slot: dict[str, str], by: timedelta) -> dict[str, str]:
    """``slot`` moved by ``by``: a slot the carrier does not offer."""
    return {name: (datetime.fromisoformat(slot[name]) + by).isoformat().replace("+00:00", "Z") for name in slot}


async def test_the_carrier_offers_slots_ahead_and_a_return_books_one_of_them(api: Callers) -> None:
    await default_policy(api)
    order_id = await put_order(api)
    slots = await slots_of(api, order_id)
    assert len(slots) == 10
    now = datetime.now(UTC)
    for slot in slots:
        start, end = datetime.fromisoformat(slot["start"]), datetime.fromisoformat(slot["end"])
        assert now < start < end and end - start == timedelta(hours=4) and start.weekday() < 5

    body = return_body(order_id=order_id, logistics={"method": "pickup", "pickup_slot": slots[3]})
    created = await api.service.post("/v1/returns", json=body)
    assert created.status_code == 201, created.text
    booked = await wait_for_status(api, created.json()["id"], "awaiting_shipment")
    assert booked["logistics"]["pickup_slot"] == slots[3]
    shipments = (await api.sandbox.get("/carrier/shipments", params={"reference": booked["id"]})).json()["items"]
    assert [s["pickup_slot"] for s in shipments] == [slots[3]]

    unknown = await api.service.get("/v1/pickup-slots", params={"order_id": "O-nobody"})
    assert unknown.status_code == 404


@pytest.mark.parametrize("when", ["past", "not offered"])
async def test_a_slot_in_the_past_or_not_offered_is_refused_on_its_field(api: Callers, when: str) -> None:
    order_id = await put_order(api)
    offered = (await slots_of(api, order_id))[0]
    slot = shifted(offered, timedelta(days=-3) if when == "past" else timedelta(minutes=30))
    body = return_body(order_id=order_id, logistics={"method": "pickup", "pickup_slot": slot})
    for path in ("/v1/returns/preview", "/v1/returns"):
        refused = await api.service.post(path, json=body)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        [error] = refused.json()["errors"]
        assert error["field"] == "logistics.pickup_slot" and error["code"] == "pickup_slot_unavailable"


async def test_a_missed_pickup_is_rebooked_only_for_a_slot_the_carrier_offers_now(
    api: Callers, database: Database
) -> None:
    order_id = await put_order(api)
    missed = await stored_return(database, Status.NEEDS_ATTENTION, NOW, reason="pickup_missed", order_id=order_id)
    offered = await slots_of(api, order_id)
    elsewhere = shifted(offered[0], timedelta(minutes=30))

    refused = await api.operator.post(
        f"/v1/returns/{missed.id}/resolve", json={"action": "rebook_pickup", "pickup_slot": elsewhere}
    )
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert (error["field"], error["code"]) == ("pickup_slot", "pickup_slot_unavailable")

    # The console's return page offers the carrier's slots, and refuses another one in words.
    async with signed_in(api, database) as browser:
        page = await browser.get(f"/console/returns/{missed.id}")
        assert page.status_code == 200, page.text
        choices = re.findall(r'<option value="([^"]+)"', page.text.split('name="pickup_slot"')[1].split("</select>")[0])
        assert choices == [
            f"{datetime.fromisoformat(slot['start']).isoformat()}/{datetime.fromisoformat(slot['end']).isoformat()}"
            for slot in offered
        ]
        assert "New pickup slot (for Rebook the pickup)" in text(page)
        not_offered = f"{elsewhere['start'].replace('Z', '+00:00')}/{elsewhere['end'].replace('Z', '+00:00')}"
        typed = {"csrf_token": form_token(page), "action": "rebook_pickup", "pickup_slot": not_offered}
        answered = await browser.post(f"/console/returns/{missed.id}/resolve", data=typed)
    assert answered.status_code == 422 and "the carrier does not offer this pickup slot" in text(answered)
    assert (await api.service.get(f"/v1/returns/{missed.id}")).json()["attention"]["reason"] == "pickup_missed"


async def test_a_carrier_that_does_not_answer_is_a_503_with_retry_after(api: Callers) -> None:
    order_id = await put_order(api)
    fault = {"operation": "carrier.pickup_slots", "mode": "unavailable", "times": 1}
    assert (await api.sandbox.post("/sandbox/faults", json=fault)).status_code == 201
    try:
        response = await api.service.get("/v1/pickup-slots", params={"order_id": order_id})
    finally:
        await api.sandbox.delete("/sandbox/faults")
    assert response.status_code == 503 and response.headers["retry-after"] == "5"


async def test_a_drop_off_return_is_handed_in_with_its_qr_code_and_refunded(api: Callers) -> None:
    await default_policy(api)
    api_url = str(api.service.base_url).rstrip("/")
    subscribed = await api.sandbox.put(
        "/carrier/webhook", json={"url": api_url + "/v1/carrier-events", "secret": CARRIER_SECRET}
    )
    assert subscribed.status_code == 200
    order_id = await put_order(api, **{**order_body(), "shipping_address": US_ADDRESS})
    created = await api.service.post(
        "/v1/returns", json=return_body(order_id=order_id, logistics={"method": "drop_off"})
    )
    assert created.status_code == 201, created.text
    return_id = created.json()["id"]

    awaiting = await wait_for_status(api, return_id, "awaiting_shipment")
    logistics = awaiting["logistics"]
    token = logistics["drop_off_token"]
    # An absolute URL on the site customers reach returnflow at (customer_site_url); the image is at its path.
    site = Settings().customer_site_url
    assert len(token) >= 32 and logistics["qr_code_url"] == f"{site}/v1/drop-off-codes/{token}.png"
    assert [p["point_id"] for p in logistics["drop_off_points"]] == [
        "dp_springfield_main",
        "dp_springfield_mall",
        "dp_shelbyville",
    ]

    image = await api.anonymous.get(urlsplit(logistics["qr_code_url"]).path)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
    expected = io.BytesIO()
    segno.make(token, error="m").save(expected, kind="png", scale=8, border=4)
    assert image.content == expected.getvalue()  # the QR code of exactly this token

    handed_in = await api.sandbox.post("/carrier/drop-offs", json={"token": token})
    assert handed_in.status_code == 201, handed_in.text
    assert handed_in.json() == {"tracking_number": logistics["tracking_number"], "event": "picked_up", "reported": True}
    await wait_for_status(api, return_id, "in_transit")

    assert (await api.sandbox.post("/carrier/drop-offs", json={"token": "x" * 32})).status_code == 404
    assert (await carrier(api, logistics["tracking_number"], "delivered")).status_code == 202
    await wait_for_status(api, return_id, "received")
    inspection = {"lines": [{"line_id": "L1", "condition": "as_new", "disposition": "restock"}]}
    assert (await api.operator.post(f"/v1/returns/{return_id}/inspection", json=inspection)).status_code == 200
    done = await wait_for_status(api, return_id, "completed")
    assert done["refund"]["status"] == "succeeded"
    refunds = (await api.sandbox.get("/payments/refunds")).json()["items"]
    assert [r["idempotency_key"] for r in refunds if r["idempotency_key"].startswith(return_id)] == [
        f"{return_id}:refund:p1"
    ]
