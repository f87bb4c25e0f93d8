"""Customers hear about every status that concerns them, once each, in the language their order names."""

import re
from decimal import Decimal

from sqlalchemy import select

from domain.policy import DEFAULT_POLICY
from domain.sla_compensation import IssuedCompensation
from messages import housekeeping as hk
from store import outbox
from store.db import Database
from store.returns import get_return
from store.tables import CustomerNotification, OutboxEvent
from tests.api_client import Callers, carrier, default_policy, put_order, wait_for_status
from tests.conftest import Run
from tests.factories import NOW, return_body
from tests.return_journeys import AS_NEW
from workflows.housekeeping import DeliverWebhooksWorkflow

COUPON = IssuedCompensation(kind="coupon", amount=Decimal("5.00"), code="SORRY-5", reason="review_overdue", at=NOW)


async def sent_to(api: Callers, database: Database, housekeeper: Run, return_id: str) -> list[dict]:
    """What the notifications partner received about the return, once every notification of it is out."""
    for _ in range(20):  # other tests leave notifications behind: run until this return's are out
        await housekeeper(DeliverWebhooksWorkflow.run, hk.DeliverEvents())
        async with database.sessions() as session:
            states = (
                await session.scalars(
                    select(CustomerNotification.state).join(OutboxEvent).where(OutboxEvent.return_id == return_id)
                )
            ).all()
        if set(states) == {"sent"}:
            break
    return (await api.sandbox.get("/notifications", params={"reference": return_id})).json()["items"]


async def test_every_status_that_concerns_the_customer_is_told_once_in_their_language(
    api: Callers, database: Database, housekeeper: Run
) -> None:
    no_fallback = DEFAULT_POLICY.model_copy(update={"refund_failure_fallback": "none"})
    assert (await api.service.put("/v1/policy", json=no_fallback.model_dump(mode="json"))).status_code == 200
    try:
        order_id = await put_order(api, language="zh-Hans")
        created = (await api.service.post("/v1/returns", json=return_body(order_id=order_id))).json()
    finally:
        await default_policy(api)
    assert (await api.service.get(f"/v1/orders/{order_id}")).json()["language"] == "zh-Hans"
    shipped = await wait_for_status(api, created["id"], "awaiting_shipment")
    tracking = shipped["logistics"]["tracking_number"]
    # Picked up, an exception on the way (a person looks into it), delivered.
    for event, status in (("picked_up", "in_transit"), ("exception", "needs_attention"), ("delivered", "received")):
        assert (await carrier(api, tracking, event)).status_code == 202
        await wait_for_status(api, created["id"], status)
    # The refund is declined (a person looks into it again), and paid when they retry it.
    await api.sandbox.post("/sandbox/faults", json={"operation": "payments.refund", "mode": "decline"})
    assert (await api.operator.post(f"/v1/returns/{created['id']}/inspection", json=AS_NEW)).status_code == 200
    await wait_for_status(api, created["id"], "needs_attention")
    retried = await api.operator.post(f"/v1/returns/{created['id']}/resolve", json={"action": "retry_refund"})
    assert retried.status_code == 200, retried.text
    await wait_for_status(api, created["id"], "completed")
    statuses = [entry["status"] for entry in retried.json()["timeline"]]
    assert statuses.count("needs_attention") == 2, statuses

    sent = await sent_to(api, database, housekeeper, created["id"])
    assert [n["template"] for n in sent] == [
        "return_approved",
        "return_awaiting_shipment",
        "return_in_transit",
        "return_needs_attention",
        "return_received",
        "return_refund_pending",
        "return_completed",
    ], "each status once, though the return needed attention twice"
    assert {n["language"] for n in sent} == {"zh-Hans"}
    by_template = {n["template"]: n for n in sent}
    assert by_template["return_needs_attention"]["subject"] == f"我们正在处理您的退货 {created['id']}"
    assert "退款" in by_template["return_refund_pending"]["body"]
    assert re.search(
        rf"/track/{created['id']}\?token=rft_\d+\.[0-9a-f]+#survey", by_template["return_completed"]["body"]
    )


async def test_an_order_without_a_language_reads_english_and_a_compensation_is_told_once(
    api: Callers, database: Database, housekeeper: Run
) -> None:
    await default_policy(api)
    created = (await api.service.post("/v1/returns", json=return_body(order_id=await put_order(api)))).json()
    await wait_for_status(api, created["id"], "awaiting_shipment")
    async with database.transaction() as session:
        view = await get_return(session, created["id"])
        assert view is not None
        compensated = view.model_copy(update={"compensations": [COUPON]})
        first = await outbox.announce_compensation(session, compensated, "comp-1")
        again = await outbox.announce_compensation(session, compensated, "comp-1")
    assert first is not None and again is None, "a retried compensation is told once"

    sent = await sent_to(api, database, housekeeper, created["id"])
    assert [n["template"] for n in sent] == [
        "return_approved",
        "return_awaiting_shipment",
        "return_compensation_issued",
    ]
    assert {n["language"] for n in sent} == {"en"}
    assert "a coupon worth 5.00 (code SORRY-5)" in sent[-1]["body"]
    assert sent[-1]["data"]["compensation"] == {"kind": "coupon", "amount": "5.00", "code": "SORRY-5"}
