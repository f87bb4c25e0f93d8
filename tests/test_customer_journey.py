"""A customer's whole journey over HTTP, on a running stack (API, worker, Temporal dev server, sandbox): request a
return with a pickup slot the carrier offers, follow its progress at every step, urge, be compensated for the
missed review deadline, see it completed and answer the survey. And a drop-off return handed in at a counter with
its QR code."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx

from domain.policy import DEFAULT_POLICY
from returnflow.settings import Settings
from store.db import Database
from tests.api_client import (
    Callers,
    bearer_client,
    carrier,
    customer_token,
    default_policy,
    put_order,
    wait_for_status,
)
from tests.conftest import Run
from tests.factories import order_body, return_body
from tests.return_journeys import AS_NEW
from tests.test_customer_notifications import sent_to
from tests.test_logistics_api import CARRIER_SECRET, US_ADDRESS, carrier_secret  # noqa: F401  (autouse)

PARCEL_PATH = ["requested", "approved", "picked_up", "received", "inspected", "refunded"]
# Every return waits for a reviewer; the customer's urge makes the review due at once, and a missed review
# deadline is worth a coupon.
REVIEWED_AND_COMPENSATED = DEFAULT_POLICY.model_dump(mode="json") | {
    "auto_approve_max_amount": "1.00",
    "urge_sla_factor": "0",
    "sla_compensation": {"review_overdue": {"kind": "coupon", "amount": "5.00"}},
}


def progress_at(current: str | None) -> list[tuple[str, str]]:
    """The parcel path's nodes while the return works towards ``current`` (None: every step done)."""
    at = PARCEL_PATH.index(current) if current else len(PARCEL_PATH)
    return [
        (key, "done" if index < at else "current" if index == at else "upcoming")
        for index, key in enumerate(PARCEL_PATH)
    ]


async def progress_of(customer: httpx.AsyncClient, return_id: str) -> list[tuple[str, str]]:
    response = await customer.get(f"/v1/returns/{return_id}/progress")
    assert response.status_code == 200, response.text
    return [(node["key"], node["state"]) for node in response.json()["nodes"]]


async def wait_for(api: Callers, return_id: str, shown: Callable[[dict], bool]) -> dict:
    """The Return once it shows what ``shown`` looks for."""
    for _ in range(200):
        view: dict = (await api.service.get(f"/v1/returns/{return_id}")).json()
        if shown(view):
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(f"{return_id} never showed it: {view}")


@asynccontextmanager
async def signed_in_customer(api: Callers, **order: Any) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A customer signed in at the storefront, with a delivered order: its client and the order's id."""
    body = order_body(**order)
    order_id = await put_order(api, **body)
    async with bearer_client(api, await customer_token(api, body["customer_id"])) as client:
        yield client, order_id


async def test_the_customers_whole_journey_with_a_pickup_slot(
    api: Callers, database: Database, housekeeper: Run
) -> None:
    async with signed_in_customer(api) as (client, order_id):
        await pickup_journey(api, database, housekeeper, client, order_id)


async def pickup_journey(
    api: Callers, database: Database, housekeeper: Run, client: httpx.AsyncClient, order_id: str
) -> None:
    offered = await client.get("/v1/pickup-slots", params={"order_id": order_id})
    assert offered.status_code == 200, offered.text
    slot = offered.json()["items"][2]

    published = await api.service.put("/v1/policy", json=REVIEWED_AND_COMPENSATED)
    assert published.status_code == 200, published.text
    try:
        created = await client.post(
            "/v1/returns",
            json=return_body(order_id=order_id, logistics={"method": "pickup", "pickup_slot": slot}),
            headers={"Idempotency-Key": f"journey-{order_id}"},
        )
    finally:
        await default_policy(api)  # the return keeps the version it started with
    assert created.status_code == 201, created.text
    return_id = created.json()["id"]
    await wait_for_status(api, return_id, "under_review")
    assert await progress_of(client, return_id) == progress_at("approved")

    # The customer urges: first in the queues, and the review is due at once, so it is overdue.
    urged = await client.post(f"/v1/returns/{return_id}/urge")
    assert urged.status_code == 202, urged.text
    late = await wait_for_status(api, return_id, "needs_attention")
    assert late["priority"] == "high" and late["attention"]["reason"] == "review_overdue"
    assert await progress_of(client, return_id) == progress_at("approved"), "still waiting for its approval"
    again = await client.post(f"/v1/returns/{return_id}/urge")
    assert again.status_code == 429 and int(again.headers["Retry-After"]) > 0, again.text

    # The missed review deadline gives the customer a coupon: on the Return, in the ledger, at the partner.
    compensated = await wait_for(api, return_id, lambda view: bool(view["compensations"]))
    [coupon] = compensated["compensations"]
    assert (coupon["kind"], coupon["amount"], coupon["reason"]) == ("coupon", "5.00", "review_overdue")
    assert coupon["code"].startswith("SORRY-")
    assert [(line["kind"], line["amount"]) for line in compensated["money"]] == [("compensation", "5.00")]
    issued = (await api.sandbox.get("/promotions", params={"reference": return_id})).json()["items"]
    assert [promotion["code"] for promotion in issued] == [coupon["code"]]

    reviewed = await api.operator.post(f"/v1/returns/{return_id}/review", json={"decision": "approve"})
    assert reviewed.status_code == 200, reviewed.text
    booked = await wait_for_status(api, return_id, "awaiting_shipment")
    assert booked["logistics"]["pickup_slot"] == slot and booked["priority"] == "high"
    shipments = (await api.sandbox.get("/carrier/shipments", params={"reference": return_id})).json()["items"]
    assert [shipment["pickup_slot"] for shipment in shipments] == [slot]
    assert await progress_of(client, return_id) == progress_at("picked_up")

    tracking = booked["logistics"]["tracking_number"]
    for event, status, working_towards in (
        ("picked_up", "in_transit", "received"),
        ("delivered", "received", "inspected"),
    ):
        assert (await carrier(api, tracking, event)).status_code == 202
        await wait_for_status(api, return_id, status)
        assert await progress_of(client, return_id) == progress_at(working_towards)
    assert (await api.operator.post(f"/v1/returns/{return_id}/inspection", json=AS_NEW)).status_code == 200
    done = await wait_for_status(api, return_id, "completed")
    assert done["refund"]["status"] == "succeeded"
    assert await progress_of(client, return_id) == progress_at(None)

    # The survey: answered once; a low score reaches customer service.
    answered = await client.post(f"/v1/returns/{return_id}/survey", json={"score": 2, "comment": "far too slow"})
    assert answered.status_code == 201, answered.text
    twice = await client.post(f"/v1/returns/{return_id}/survey", json={"score": 5})
    assert twice.status_code == 409, twice.text
    tickets = (await api.operator.get("/v1/tickets", params={"return_id": return_id})).json()["items"]
    [ticket] = [ticket for ticket in tickets if ticket["kind"] == "negative_feedback"]
    assert ticket["id"] == answered.json()["ticket_id"] and ticket["status"] == "open"

    told = [notice["template"] for notice in await sent_to(api, database, housekeeper, return_id)]
    assert told.count("return_compensation_issued") == 1, told
    assert {"return_approved", "return_in_transit", "return_completed"} <= set(told)
    assert len(told) == len(set(told)), "each message once"


async def test_a_drop_off_return_handed_in_with_its_qr_code_moves_along_its_progress(api: Callers) -> None:
    await default_policy(api)
    subscribed = await api.sandbox.put(
        "/carrier/webhook",
        json={"url": str(api.service.base_url).rstrip("/") + "/v1/carrier-events", "secret": CARRIER_SECRET},
    )
    assert subscribed.status_code == 200
    async with signed_in_customer(api, shipping_address=US_ADDRESS) as (client, order_id):
        created = await client.post(
            "/v1/returns", json=return_body(order_id=order_id, logistics={"method": "drop_off"})
        )
        assert created.status_code == 201, created.text
        return_id = created.json()["id"]
        awaiting = await wait_for_status(api, return_id, "awaiting_shipment")
        assert await progress_of(client, return_id) == progress_at("picked_up")

        code = urlsplit(awaiting["logistics"]["qr_code_url"])
        assert f"{code.scheme}://{code.netloc}" == Settings().customer_site_url
        image = await api.anonymous.get(code.path)
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert awaiting["logistics"]["drop_off_points"], "the counters near the customer"

        counter = await api.sandbox.post("/carrier/drop-offs", json={"token": awaiting["logistics"]["drop_off_token"]})
        assert counter.status_code == 201, counter.text
        await wait_for_status(api, return_id, "in_transit")
        assert await progress_of(client, return_id) == progress_at("received"), "the counter's scan is the first"

        assert (await carrier(api, awaiting["logistics"]["tracking_number"], "delivered")).status_code == 202
        await wait_for_status(api, return_id, "received")
        assert await progress_of(client, return_id) == progress_at("inspected")
        assert (await api.operator.post(f"/v1/returns/{return_id}/inspection", json=AS_NEW)).status_code == 200
        await wait_for_status(api, return_id, "completed")
        assert await progress_of(client, return_id) == progress_at(None)
