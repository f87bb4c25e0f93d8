"""A customer kept waiting: an urge brings the deadline closer and puts the return first; a missed
deadline the policy compensates gives the customer a coupon, once per breach.

On the time-skipping server with the real sandbox (its promotions partner) and store.
"""

import asyncio
import re
import secrets
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain.policy import DEFAULT_POLICY
from domain.returns import ReturnView, ReviewDecision, Status
from domain.sla import TRANSIT_SLA
from domain.sla_compensation import CompensationOffer, IssuedCompensation
from domain.urging import Urge
from messages.errors import ErrorType
from messages.search_attributes import RETURN_PRIORITY
from store.db import Database
from store.ledger import money_lines
from store.returns import save_return
from store.tables import CustomerNotification, OutboxEvent
from tests.api_client import Callers, put_order, wait_for_status
from tests.factories import NOW, return_body
from tests.histories_io import keep_history
from tests.test_attention import attention_of, fault, resolve
from tests.test_console_queues import signed_in, stored_return
from tests.test_console_return import text
from tests.workflow_harness import NEEDS_REVIEW, Harness, reach, scan, start, tracking_of, view_of
from workflows.return_workflow import ReturnWorkflow

HALVED_BY_URGE = NEEDS_REVIEW.model_copy(update={"urge_sla_factor": Decimal("0.5")})
# The refund waits for the parcel's arrival, and an urge halves the time it has left.
REFUND_ON_RECEIPT_HALVED_BY_URGE = DEFAULT_POLICY.model_copy(
    update={"refund_trigger": "receipt", "urge_sla_factor": Decimal("0.5")}
)
COUPON_WHEN_REVIEW_LATE = NEEDS_REVIEW.model_copy(
    update={"sla_compensation": {"review_overdue": CompensationOffer(kind="coupon", amount=Decimal("5.00"))}}
)


async def urge(handle: WorkflowHandle) -> ReturnView:
    return await handle.execute_update(ReturnWorkflow.urge, Urge())


async def promotions(sandbox: httpx.AsyncClient, return_id: str) -> list[dict]:
    items: list[dict] = (await sandbox.get("/promotions", params={"reference": return_id})).json()["items"]
    return items


async def compensated(handle: WorkflowHandle, count: int) -> ReturnView:
    for _ in range(200):
        view = await view_of(handle)
        if len(view.compensations) >= count:
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(f"{handle.id} has {len(view.compensations)} compensations, not {count}")


async def overdue_after(handle: WorkflowHandle, reason: str, waiting_in: Status) -> tuple[ReturnView, timedelta]:
    """The return once its ``reason`` attention opened, and how long after it entered ``waiting_in`` that was."""
    overdue = await attention_of(handle, reason)
    since = next(entry.at for entry in overdue.timeline if entry.status == waiting_in)
    assert overdue.attention is not None
    return overdue, overdue.attention.since - since


async def test_an_urge_halves_the_time_left_for_review_and_puts_the_return_first(
    client: Harness, database: Database, time_skipping_env: WorkflowEnvironment, sandbox: httpx.AsyncClient
) -> None:
    handle = await start(client, database, policy=HALVED_BY_URGE)
    await reach(handle, Status.UNDER_REVIEW)
    await time_skipping_env.sleep(timedelta(hours=8))  # 40 of the 48 hours left

    urged = await urge(handle)
    assert urged.priority == "high" and urged.status == Status.UNDER_REVIEW
    assert urged.timeline[-1].note.startswith("urged by the customer; now due by ")
    assert (await handle.describe()).typed_search_attributes.get(RETURN_PRIORITY) == "high"

    with pytest.raises(WorkflowUpdateFailedError) as again:
        await urge(handle)
    refusal = again.value.cause
    assert isinstance(refusal, ApplicationError) and refusal.type == ErrorType.TOO_SOON
    assert 0 < int(refusal.details[1]) <= 24 * 3600

    await time_skipping_env.sleep(timedelta(hours=21))  # past the 20 hours left after the urge
    _, waited = await overdue_after(handle, "review_overdue", Status.UNDER_REVIEW)
    assert timedelta(hours=27, minutes=55) <= waited < timedelta(hours=29), "8 + 40 × 0.5 h"
    notices = (await sandbox.get("/notifications", params={"reference": handle.id})).json()["items"]
    assert [(n["customer_id"], n["template"]) for n in notices] == [("operators", "operators_return_urged")]

    await handle.execute_update(ReturnWorkflow.review, ReviewDecision(decision="approve"))
    approved = await reach(handle, Status.AWAITING_SHIPMENT)
    assert approved.priority == "high", "an urged return stays first in the queues"
    await keep_history(handle, "urged-review")


async def test_an_urge_while_the_refund_waits_for_the_parcel_brings_the_transit_deadline_closer(
    client: Harness, database: Database, time_skipping_env: WorkflowEnvironment
) -> None:
    handle = await start(client, database, policy=REFUND_ON_RECEIPT_HALVED_BY_URGE)
    await scan(handle, tracking_of(await reach(handle, Status.AWAITING_SHIPMENT)), "picked_up")
    await reach(handle, Status.IN_TRANSIT)
    await time_skipping_env.sleep(timedelta(days=10))  # 20 of the 30 days left

    urged = await urge(handle)
    assert urged.priority == "high" and urged.timeline[-1].note.startswith("urged by the customer; now due by ")
    await time_skipping_env.sleep(timedelta(days=11))  # past the 10 days left after the urge
    overdue, waited = await overdue_after(handle, "transit_overdue", Status.IN_TRANSIT)
    assert timedelta(days=19, hours=23) <= waited < timedelta(days=21) < TRANSIT_SLA, "10 + 20 × 0.5 days"

    await scan(handle, tracking_of(overdue), "delivered")
    refunded = await reach(handle, Status.RECEIVED)
    assert refunded.attention is None
    await keep_history(handle, "urged-in-transit")


async def test_a_missed_review_deadline_gives_one_coupon_per_breach_whatever_the_retries(
    client: Harness, database: Database, time_skipping_env: WorkflowEnvironment, sandbox: httpx.AsyncClient
) -> None:
    handle = await start(client, database, policy=COUPON_WHEN_REVIEW_LATE)
    await reach(handle, Status.UNDER_REVIEW)
    await fault(sandbox, "promotions.issue", "unavailable", times=2)
    await time_skipping_env.sleep(timedelta(hours=49))
    await attention_of(handle, "review_overdue")

    first = await compensated(handle, 1)
    [coupon] = first.compensations
    assert (coupon.kind, coupon.amount, coupon.reason) == ("coupon", Decimal("5.00"), "review_overdue")
    assert coupon.code and coupon.code.startswith("SORRY-")
    issued = await promotions(sandbox, handle.id)
    assert [(p["code"], p["amount"]) for p in issued] == [(coupon.code, "5.00")]

    # The deadline is extended and missed again: a second breach, a second coupon.
    await resolve(handle, "extend_deadline")
    await time_skipping_env.sleep(timedelta(hours=49))
    second = await compensated(handle, 2)
    assert len(await promotions(sandbox, handle.id)) == 2
    assert len({c.code for c in second.compensations}) == 2

    async with database.sessions() as session:
        ledger = [line for line in await money_lines(session, handle.id) if line.kind == "compensation"]
        told = (
            await session.scalars(
                select(OutboxEvent.type)
                .join(CustomerNotification, CustomerNotification.event_id == OutboxEvent.id)
                .where(OutboxEvent.return_id == handle.id, OutboxEvent.type == "return.compensation_issued")
            )
        ).all()
    assert [(line.amount, line.currency, line.provider_ref) for line in ledger] == [
        (Decimal("5.00"), "USD", c.code) for c in second.compensations
    ]
    assert len(told) == 2

    await handle.execute_update(ReturnWorkflow.review, ReviewDecision(decision="reject"))
    final = await handle.result()
    assert final is not None and final.status == Status.REJECTED and len(final.compensations) == 2
    await keep_history(handle, "review-overdue-compensated")


async def test_over_http_a_second_urge_the_same_day_is_429_with_retry_after_and_an_ended_return_409(
    api: Callers,
) -> None:
    order_id = await put_order(api)
    created = await api.service.post("/v1/returns", json=return_body(order_id=order_id))
    assert created.status_code == 201, created.text
    return_id = created.json()["id"]
    await wait_for_status(api, return_id, "awaiting_shipment")

    first = await api.service.post(f"/v1/returns/{return_id}/urge")
    assert first.status_code == 202, first.text
    shown = (await api.service.get(f"/v1/returns/{return_id}")).json()
    assert shown["priority"] == "high" and shown["timeline"][-1]["note"] == "urged by the service"

    again = await api.service.post(f"/v1/returns/{return_id}/urge")
    assert again.status_code == 429, again.text
    assert again.headers["content-type"] == "application/problem+json"
    assert 0 < int(again.headers["Retry-After"]) <= 24 * 3600
    assert [e["code"] for e in again.json()["errors"]] == ["urged_recently"]

    assert (await api.service.post(f"/v1/returns/{return_id}/cancel", json={})).status_code == 200
    ended = await api.service.post(f"/v1/returns/{return_id}/urge")
    assert ended.status_code == 409, ended.text


async def test_the_console_return_page_lists_the_compensations(api: Callers, database: Database) -> None:
    view = await stored_return(database, Status.NEEDS_ATTENTION, NOW, reason="review_overdue")
    given = IssuedCompensation(
        kind="coupon", amount=Decimal("5.00"), code="SORRY-TEST1234", reason="review_overdue", at=NOW
    )
    async with database.transaction() as session:
        await save_return(session, view.model_copy(update={"compensations": [given]}), revision=2)
    async with signed_in(api, database) as browser:
        page = await browser.get(f"/console/returns/{view.id}")
    assert page.status_code == 200, page.text
    words = text(page)
    assert "Compensations for missed deadlines" in words
    assert re.search(r"Coupon\s+Review overdue\s+SORRY-TEST1234\s+5\.00", words), words


async def test_the_sandbox_promotions_partner_issues_one_coupon_per_key(sandbox: httpx.AsyncClient) -> None:
    reference = "ret_" + secrets.token_hex(8)
    body = {
        "idempotency_key": f"{reference}:compensation:review_overdue:1",
        "customer_id": "C1",
        "kind": "coupon",
        "amount": "5.00",
        "currency": "USD",
        "reference": reference,
    }
    await fault(sandbox, "promotions.issue", "unavailable")
    assert (await sandbox.post("/promotions", json=body)).status_code == 503
    first = await sandbox.post("/promotions", json=body)
    again = await sandbox.post("/promotions", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["code"] == again.json()["code"] and first.json()["code"].startswith("SORRY-")
    assert len(await promotions(sandbox, reference)) == 1
    points = await sandbox.post(
        "/promotions", json={**body, "idempotency_key": f"{reference}:points", "kind": "points"}
    )
    assert points.status_code == 201 and points.json()["code"] is None
