"""ReturnWorkflow on the time-skipping server: timers, compensation, validators.

The partners are the real sandbox over HTTP and the read model is a real
database; only the clock is fast-forwarded.
"""

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from domain.policy import DEFAULT_POLICY
from domain.returns import CancelRequest, Inspection, ReviewDecision, Status
from domain.risk import RiskAssessment, RiskRules
from messages.errors import ErrorType
from store.db import Database
from store.orders import get_order
from store.returns import get_return
from tests.histories_io import keep_history
from tests.workflow_harness import (
    NEEDS_REVIEW,
    reach,
    scan,
    shipment,
    start,
    tracking_of,
)
from workflows.return_workflow import ReturnWorkflow


async def test_unshipped_return_expires_after_ship_by_and_undoes_everything(
    client, database: Database, sandbox: httpx.AsyncClient
) -> None:
    handle = await start(client, database)
    booked = await reach(handle, Status.AWAITING_SHIPMENT)
    assert booked.logistics.ship_by is not None

    final = await handle.result()  # the time-skipping server jumps the 14 days

    assert final.status == Status.EXPIRED
    await keep_history(handle, "expired")
    assert (await shipment(sandbox, tracking_of(booked)))["status"] == "canceled"
    async with database.sessions() as session:
        stored = await get_return(session, handle.id)
        found = await get_order(session, final.order_id)
    assert found is not None
    _, claimed = found
    assert stored is not None and stored.status == Status.EXPIRED
    assert claimed["L1"] == 0, "the expired return gave its units back"


async def test_cancel_before_shipping_cancels_the_booking(
    client, database: Database, sandbox: httpx.AsyncClient
) -> None:
    handle = await start(client, database)
    booked = await reach(handle, Status.AWAITING_SHIPMENT)

    canceled = await handle.execute_update(ReturnWorkflow.cancel, CancelRequest(note="found a better one"))

    assert canceled.status == Status.CANCELED
    await handle.result()
    await keep_history(handle, "canceled")
    assert canceled.timeline[-1].note == "found a better one"
    assert (await shipment(sandbox, tracking_of(booked)))["status"] == "canceled"


async def test_cancel_in_transit_is_a_conflict(client, database: Database) -> None:
    handle = await start(client, database)
    booked = await reach(handle, Status.AWAITING_SHIPMENT)
    await scan(handle, tracking_of(booked), "picked_up")
    await reach(handle, Status.IN_TRANSIT)

    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        await handle.execute_update(ReturnWorkflow.cancel, CancelRequest())

    assert isinstance(rejected.value.cause, ApplicationError)
    assert rejected.value.cause.type == ErrorType.STATUS_CONFLICT


async def test_inspection_before_receipt_is_a_conflict(client, database: Database) -> None:
    handle = await start(client, database)
    await reach(handle, Status.AWAITING_SHIPMENT)

    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        await handle.execute_update(
            ReturnWorkflow.inspect,
            Inspection.model_validate({"lines": [{"line_id": "L1", "condition": "as_new", "disposition": "restock"}]}),
        )

    assert isinstance(rejected.value.cause, ApplicationError)
    assert rejected.value.cause.type == ErrorType.STATUS_CONFLICT


async def test_full_saga_refunds_once(client, database: Database, sandbox: httpx.AsyncClient) -> None:
    handle = await start(client, database)
    booked = await reach(handle, Status.AWAITING_SHIPMENT)
    tracking = tracking_of(booked)
    for event in ("picked_up", "picked_up", "in_transit", "delivered", "delivered"):
        await scan(handle, tracking, event)
    await reach(handle, Status.RECEIVED)
    await handle.execute_update(
        ReturnWorkflow.inspect,
        Inspection.model_validate({"lines": [{"line_id": "L1", "condition": "as_new", "disposition": "restock"}]}),
    )

    final = await handle.result()

    assert final.status == Status.COMPLETED
    await keep_history(handle, "completed")
    assert final.refund.status == "succeeded" and str(final.refund.amount) == "19.99"
    refunds = [r for r in (await sandbox.get("/payments/refunds")).json()["items"] if r["reference"] == handle.id]
    assert len(refunds) == 1 and refunds[0]["amount"] == "19.99"
    assert [t.status for t in final.timeline] == [
        Status.REQUESTED,
        Status.APPROVED,
        Status.AWAITING_SHIPMENT,
        Status.IN_TRANSIT,
        Status.RECEIVED,
        Status.INSPECTED,
        Status.REFUND_PENDING,
        Status.COMPLETED,
    ]


async def receive(handle: WorkflowHandle) -> None:
    booked = await reach(handle, Status.AWAITING_SHIPMENT)
    for event in ("picked_up", "delivered"):
        await scan(handle, tracking_of(booked), event)
    await reach(handle, Status.RECEIVED)


async def test_a_serial_returners_deposit_is_kept_when_the_item_comes_back_damaged(
    client, database: Database, sandbox: httpx.AsyncClient
) -> None:
    deposit_policy = DEFAULT_POLICY.model_copy(update={"risk": RiskRules(serial_returner_action="deposit")})
    serial = RiskAssessment(level="high", reasons=["12 returns in 180 days"], serial_returner=True)
    handle = await start(client, database, policy=deposit_policy, risk=serial)
    await receive(handle)

    await handle.execute_update(
        ReturnWorkflow.inspect,
        Inspection.model_validate({"lines": [{"line_id": "L1", "condition": "damaged", "disposition": "refurbish"}]}),
    )
    final = await handle.result()

    assert final.status == Status.COMPLETED
    assert [(h.amount, h.status) for h in final.refund.holds] == [(Decimal("4.00"), "kept")]
    assert final.refund.amount == Decimal("15.99")
    refunds = [r for r in (await sandbox.get("/payments/refunds")).json()["items"] if r["reference"] == handle.id]
    assert [r["amount"] for r in refunds] == ["15.99"]


async def test_review_sla_breach_escalates_and_stays_reviewable(
    client, database: Database, time_skipping_env: WorkflowEnvironment
) -> None:
    handle = await start(client, database, policy=NEEDS_REVIEW)
    await reach(handle, Status.UNDER_REVIEW)

    await time_skipping_env.sleep(timedelta(hours=49))
    escalated = await reach(handle, Status.NEEDS_ATTENTION)
    assert escalated.priority == "high"

    approved = await handle.execute_update(ReturnWorkflow.review, ReviewDecision(decision="approve", note="ok"))
    assert approved.decision.outcome == "approved"
    await reach(handle, Status.AWAITING_SHIPMENT)


async def test_rejected_review_ends_rejected_and_releases_units(client, database: Database) -> None:
    handle = await start(client, database, policy=NEEDS_REVIEW)
    await reach(handle, Status.UNDER_REVIEW)

    await handle.execute_update(ReturnWorkflow.review, ReviewDecision(decision="reject", note="worn"))
    final = await handle.result()

    assert final.status == Status.REJECTED and final.timeline[-1].note == "worn"
    await keep_history(handle, "rejected")
    async with database.sessions() as session:
        found = await get_order(session, final.order_id)
    assert found is not None
    _, claimed = found
    assert claimed["L1"] == 0
    with pytest.raises(RPCError):  # the workflow has ended: nothing left to review
        await handle.execute_update(ReturnWorkflow.review, ReviewDecision(decision="approve"))


@pytest.mark.parametrize(
    ("reason", "condition", "disposition", "refunded"),
    [
        ("changed_mind", "damaged", "refurbish", "4.00"),  # 19.99 − 5.99 shipping − 50% of 19.99 (10.00)
        ("defective", "damaged", "dispose", "19.99"),  # the merchant's fault: no deduction
        ("defective", "as_new", "return_to_customer", "0.00"),  # the item goes back: nothing refunded
    ],
)
async def test_inspection_grades_the_refund(
    client, database: Database, sandbox: httpx.AsyncClient, reason: str, condition: str, disposition: str, refunded: str
) -> None:
    handle = await start(client, database, lines=[{"line_id": "L1", "quantity": 1, "reason": reason}])
    await receive(handle)

    await handle.execute_update(
        ReturnWorkflow.inspect,
        Inspection.model_validate({"lines": [{"line_id": "L1", "condition": condition, "disposition": disposition}]}),
    )
    final = await handle.result()

    assert final.status == Status.COMPLETED and str(final.refund.amount) == refunded
    refunds = (await sandbox.get("/payments/refunds", params={"reference": handle.id})).json()["items"]
    assert [r["amount"] for r in refunds] == ([refunded] if refunded != "0.00" else [])
