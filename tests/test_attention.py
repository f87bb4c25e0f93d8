"""No dead ends: every problem a return meets shows an attention with a way forward, and the workflow waits.

Each test reaches one attention reason on the time-skipping server, acts as an
operator would (the ``resolve`` update), and follows the return to its end:
money exact, the ticket opened and resolved, the workflow closed only once the
return is in a final status.
"""

import asyncio
from datetime import timedelta

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain.attention import Resolution
from domain.policy import DEFAULT_POLICY
from domain.returns import FINAL_STATUSES, CancelRequest, ReturnView, ReviewDecision, Status
from messages.errors import ErrorType
from store import tickets
from store.db import Database
from store.ledger import money_lines
from tests.histories_io import keep_history
from tests.workflow_harness import AS_NEW, NEEDS_REVIEW, Harness, reach, scan, start, tracking_of, view_of
from workflows.return_workflow import ReturnWorkflow

NO_FALLBACK = DEFAULT_POLICY.model_copy(update={"refund_failure_fallback": "none"})


async def resolve(handle: WorkflowHandle, action: str, **fields: str) -> ReturnView:
    return await handle.execute_update(ReturnWorkflow.resolve, Resolution.model_validate({"action": action, **fields}))


async def attention_of(handle: WorkflowHandle, reason: str) -> ReturnView:
    view = await reach(handle, Status.NEEDS_ATTENTION)
    assert view.attention is not None and view.attention.reason == reason, view.attention
    assert view.priority == "high"
    return view


async def fault(sandbox: httpx.AsyncClient, operation: str, mode: str = "decline", times: int = 1) -> None:
    response = await sandbox.post("/sandbox/faults", json={"operation": operation, "mode": mode, "times": times})
    assert response.status_code in (200, 201), response.text


async def refunds(sandbox: httpx.AsyncClient, return_id: str) -> list[str]:
    items = (await sandbox.get("/payments/refunds", params={"reference": return_id})).json()["items"]
    return [item["amount"] for item in items]


async def deliver_and_inspect(handle: WorkflowHandle) -> None:
    tracking = tracking_of(await reach(handle, Status.AWAITING_SHIPMENT))
    await scan(handle, tracking, "picked_up")
    await scan(handle, tracking, "delivered")
    await reach(handle, Status.RECEIVED)
    await handle.execute_update(ReturnWorkflow.inspect, AS_NEW)


async def picked_up(handle: WorkflowHandle) -> str:
    """The parcel is on its way; its tracking number."""
    tracking = tracking_of(await reach(handle, Status.AWAITING_SHIPMENT))
    await scan(handle, tracking, "picked_up")
    await reach(handle, Status.IN_TRANSIT)
    return tracking


async def overdue_in_transit(handle: WorkflowHandle, env: WorkflowEnvironment) -> tuple[str, ReturnView]:
    tracking = await picked_up(handle)
    await env.sleep(timedelta(days=31))
    return tracking, await attention_of(handle, "transit_overdue")


async def ended(handle: WorkflowHandle, status: Status) -> ReturnView:
    """The workflow closed, completed, with the return in ``status`` and nothing left for a person."""
    final = await handle.result()
    assert final is not None and final.status == status, final
    assert final.attention is None
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    return final


async def open_tickets(database: Database, return_id: str) -> list[str]:
    async with database.sessions() as session:
        found = await tickets.list_tickets(session, "open", return_id, 50)
    return [ticket.kind for ticket in found]


# ---- a refund that failed --------------------------------------------------------------------------------


async def test_a_declined_refund_waits_for_a_person_and_a_retry_pays_it_once(
    client: Harness, database: Database, sandbox: httpx.AsyncClient
) -> None:
    handle = await start(client, database, policy=NO_FALLBACK)
    await fault(sandbox, "payments.refund")
    await deliver_and_inspect(handle)

    stuck = await attention_of(handle, "refund_failed")
    assert stuck.attention is not None
    assert stuck.attention.actions == ["retry_refund", "refund_as_store_credit", "mark_refunded"]
    assert stuck.refund.status == "failed"
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    assert await open_tickets(database, handle.id) == ["refund_failed"]

    paid = await resolve(handle, "retry_refund", note="card reissued")
    assert paid.status == Status.COMPLETED and paid.refund.status == "succeeded"
    await ended(handle, Status.COMPLETED)
    assert await refunds(sandbox, handle.id) == ["19.99"]
    assert await open_tickets(database, handle.id) == []
    await keep_history(handle, "refund-failed-retried")


async def test_a_retry_that_fails_again_keeps_the_attention_and_store_credit_settles_it(
    client: Harness, database: Database, sandbox: httpx.AsyncClient
) -> None:
    handle = await start(client, database, policy=NO_FALLBACK)
    await fault(sandbox, "payments.refund", times=2)
    await deliver_and_inspect(handle)
    await attention_of(handle, "refund_failed")

    again = await resolve(handle, "retry_refund")
    assert again.status == Status.NEEDS_ATTENTION and again.attention is not None
    assert again.attention.reason == "refund_failed"

    settled = await resolve(handle, "refund_as_store_credit")
    assert settled.status == Status.COMPLETED
    await ended(handle, Status.COMPLETED)
    assert await refunds(sandbox, handle.id) == []
    credits = (await sandbox.get("/payments/store-credits", params={"reference": handle.id})).json()["items"]
    assert [credit["amount"] for credit in credits] == ["19.99"]
    async with database.sessions() as session:
        assert [(line.kind, str(line.amount)) for line in await money_lines(session, handle.id)] == [
            ("store_credit", "19.99")
        ]


async def test_a_refund_paid_outside_needs_its_reference_and_lands_in_the_ledger(
    client: Harness, database: Database, sandbox: httpx.AsyncClient
) -> None:
    handle = await start(client, database, policy=NO_FALLBACK)
    await fault(sandbox, "payments.refund")
    await deliver_and_inspect(handle)
    await attention_of(handle, "refund_failed")

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await resolve(handle, "mark_refunded")
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == ErrorType.INVALID_INPUT

    await resolve(handle, "mark_refunded", reference="bank transfer BT-7")
    await ended(handle, Status.COMPLETED)
    assert await refunds(sandbox, handle.id) == []
    async with database.sessions() as session:
        lines = await money_lines(session, handle.id)
    assert [(line.kind, str(line.amount), line.provider_ref) for line in lines] == [
        ("refund_outside", "19.99", "bank transfer BT-7")
    ]


async def test_after_a_first_scan_refund_fails_the_parcel_is_still_received_inspected_and_taken_in(
    client: Harness, database: Database, sandbox: httpx.AsyncClient
) -> None:
    policy = NO_FALLBACK.model_copy(update={"refund_trigger": "first_scan"})
    handle = await start(client, database, policy=policy)
    tracking = tracking_of(await reach(handle, Status.AWAITING_SHIPMENT))
    await fault(sandbox, "payments.refund")
    await scan(handle, tracking, "picked_up")
    await attention_of(handle, "refund_failed")

    await scan(handle, tracking, "delivered")  # the carrier goes on: nothing it sends hits a closed workflow
    await received_meanwhile(handle)
    await handle.execute_update(ReturnWorkflow.inspect, AS_NEW)  # the warehouse is not blocked either
    waiting = await attention_of(handle, "refund_failed")
    steps = [entry.status for entry in waiting.timeline]
    assert Status.RECEIVED in steps and Status.INSPECTED in steps
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING

    await resolve(handle, "retry_refund")
    await ended(handle, Status.COMPLETED)
    assert await refunds(sandbox, handle.id) == ["19.99"]
    intakes = (await sandbox.get("/warehouse/intakes")).json()["items"]
    assert [intake["reference"] for intake in intakes].count(handle.id) == 1


async def received_meanwhile(handle: WorkflowHandle) -> None:
    """The return's timeline shows the parcel received, while its status still shows the attention."""
    for _ in range(200):
        if Status.RECEIVED in [entry.status for entry in (await view_of(handle)).timeline]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{handle.id} was never received")


# ---- waits that ran late ----------------------------------------------------------------------------------


async def test_an_overdue_review_can_be_given_more_time_and_is_cleared_by_the_review(
    client: Harness, database: Database, time_skipping_env: WorkflowEnvironment
) -> None:
    handle = await start(client, database, policy=NEEDS_REVIEW)
    await reach(handle, Status.UNDER_REVIEW)
    await time_skipping_env.sleep(timedelta(hours=49))
    overdue = await attention_of(handle, "review_overdue")
    assert overdue.attention is not None and overdue.attention.actions == ["extend_deadline", "cancel"]

    extended = await resolve(handle, "extend_deadline", note="reviewer back on Monday")
    assert extended.status == Status.UNDER_REVIEW and extended.attention is None

    await time_skipping_env.sleep(timedelta(hours=49))
    await attention_of(handle, "review_overdue")
    await handle.execute_update(ReturnWorkflow.review, ReviewDecision(decision="approve"))
    approved = await reach(handle, Status.AWAITING_SHIPMENT)
    assert approved.attention is None
    assert await open_tickets(database, handle.id) == []


async def test_an_overdue_review_can_be_cancelled_and_the_units_come_back(
    client: Harness, database: Database, time_skipping_env: WorkflowEnvironment
) -> None:
    handle = await start(client, database, policy=NEEDS_REVIEW)
    await reach(handle, Status.UNDER_REVIEW)
    await time_skipping_env.sleep(timedelta(hours=49))
    await attention_of(handle, "review_overdue")

    canceled = await resolve(handle, "cancel", note="customer asked by phone")
    assert canceled.status == Status.CANCELED
    await ended(handle, Status.CANCELED)
    assert await open_tickets(database, handle.id) == []


async def test_an_overdue_inspection_can_be_given_more_time(
    client: Harness, database: Database, time_skipping_env: WorkflowEnvironment, sandbox: httpx.AsyncClient
) -> None:
    handle = await start(client, database)
    tracking = tracking_of(await reach(handle, Status.AWAITING_SHIPMENT))
    await scan(handle, tracking, "picked_up")
    await scan(handle, tracking, "delivered")
    await reach(handle, Status.RECEIVED)
    await time_skipping_env.sleep(timedelta(hours=73))
    overdue = await attention_of(handle, "inspection_overdue")
    assert overdue.attention is not None and overdue.attention.actions == ["extend_deadline"]

    await resolve(handle, "extend_deadline")
    await reach(handle, Status.RECEIVED)
    await handle.execute_update(ReturnWorkflow.inspect, AS_NEW)
    await ended(handle, Status.COMPLETED)
    assert await refunds(sandbox, handle.id) == ["19.99"]


async def test_a_parcel_overdue_in_transit_can_be_closed_as_lost_and_refunded(
    client: Harness, database: Database, time_skipping_env: WorkflowEnvironment, sandbox: httpx.AsyncClient
) -> None:
    handle = await start(client, database)
    _, overdue = await overdue_in_transit(handle, time_skipping_env)
    assert overdue.attention is not None
    assert overdue.attention.actions == ["extend_deadline", "close_as_lost", "return_to_sender"]

    await resolve(handle, "close_as_lost", note="carrier confirmed the loss")
    await ended(handle, Status.COMPLETED)
    assert await refunds(sandbox, handle.id) == ["19.99"]
    await keep_history(handle, "transit-overdue-lost")


async def test_a_parcel_overdue_in_transit_can_go_back_to_the_customer_without_a_refund(
    client: Harness, database: Database, time_skipping_env: WorkflowEnvironment, sandbox: httpx.AsyncClient
) -> None:
    handle = await start(client, database)
    tracking, _ = await overdue_in_transit(handle, time_skipping_env)

    await resolve(handle, "return_to_sender")
    await ended(handle, Status.CANCELED)
    assert await refunds(sandbox, handle.id) == []
    shipments = (await sandbox.get("/carrier/shipments")).json()["items"]
    booked = next(item for item in shipments if item["tracking_number"] == tracking)
    assert booked["status"] != "canceled"  # the carrier takes the parcel back; the booking stands


async def test_a_carrier_exception_asks_a_person_and_waiting_longer_lets_the_parcel_arrive(
    client: Harness, database: Database, sandbox: httpx.AsyncClient
) -> None:
    handle = await start(client, database)
    tracking = await picked_up(handle)
    await scan(handle, tracking, "exception")
    exception = await attention_of(handle, "carrier_exception")
    assert exception.attention is not None
    assert exception.attention.actions == ["extend_deadline", "close_as_lost", "return_to_sender"]

    await resolve(handle, "extend_deadline")
    await reach(handle, Status.IN_TRANSIT)
    await scan(handle, tracking, "delivered")
    await reach(handle, Status.RECEIVED)
    await handle.execute_update(ReturnWorkflow.inspect, AS_NEW)
    await ended(handle, Status.COMPLETED)
    assert await refunds(sandbox, handle.id) == ["19.99"]


# ---- an undo that failed ----------------------------------------------------------------------------------


async def test_a_compensation_that_fails_opens_a_ticket_and_waits_for_a_retry(
    client: Harness, database: Database, sandbox: httpx.AsyncClient
) -> None:
    handle = await start(client, database)
    await reach(handle, Status.AWAITING_SHIPMENT)
    await fault(sandbox, "carrier.cancel_shipment")
    await handle.start_update(
        ReturnWorkflow.cancel, CancelRequest(note="changed my mind"), wait_for_stage=WorkflowUpdateStage.ACCEPTED
    )

    stuck = await attention_of(handle, "compensation_failed")
    assert stuck.attention is not None and stuck.attention.actions == ["retry_compensation", "mark_compensated"]
    assert "could not cancel the shipment" in stuck.attention.note
    assert await open_tickets(database, handle.id) == ["compensation_failed"]

    await resolve(handle, "retry_compensation")
    await ended(handle, Status.CANCELED)
    assert await open_tickets(database, handle.id) == []
    await keep_history(handle, "compensation-failed-retried")


# ---- what cannot be done ----------------------------------------------------------------------------------


async def test_an_action_not_offered_now_is_refused_with_a_conflict(client: Harness, database: Database) -> None:
    handle = await start(client, database)
    await reach(handle, Status.AWAITING_SHIPMENT)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await resolve(handle, "retry_refund")
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == ErrorType.STATUS_CONFLICT


async def test_every_escalation_leaves_the_workflow_open_until_the_return_is_final(
    client: Harness, database: Database, time_skipping_env: WorkflowEnvironment, sandbox: httpx.AsyncClient
) -> None:
    """Walk the escalations in one return's life; at each, Temporal's status agrees with the return's."""
    handle = await start(client, database, policy=NEEDS_REVIEW.model_copy(update={"refund_failure_fallback": "none"}))
    await reach(handle, Status.UNDER_REVIEW)
    await time_skipping_env.sleep(timedelta(hours=49))
    await _agree(handle, await attention_of(handle, "review_overdue"))
    await handle.execute_update(ReturnWorkflow.review, ReviewDecision(decision="approve"))
    tracking = tracking_of(await reach(handle, Status.AWAITING_SHIPMENT))
    await scan(handle, tracking, "picked_up")
    await scan(handle, tracking, "exception")
    await _agree(handle, await attention_of(handle, "carrier_exception"))
    await resolve(handle, "extend_deadline")
    await time_skipping_env.sleep(timedelta(days=31))
    await _agree(handle, await attention_of(handle, "transit_overdue"))
    await resolve(handle, "extend_deadline")
    await scan(handle, tracking, "delivered")
    await reach(handle, Status.RECEIVED)
    await time_skipping_env.sleep(timedelta(hours=73))
    await _agree(handle, await attention_of(handle, "inspection_overdue"))
    await fault(sandbox, "payments.refund")
    await handle.execute_update(ReturnWorkflow.inspect, AS_NEW)
    await _agree(handle, await attention_of(handle, "refund_failed"))
    await resolve(handle, "retry_refund")
    final = await ended(handle, Status.COMPLETED)
    await _agree(handle, final)
    await keep_history(handle, "every-escalation")
    assert await refunds(sandbox, handle.id) == ["19.99"]


async def _agree(handle: WorkflowHandle, view: ReturnView) -> None:
    running = (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    assert running == (view.status not in FINAL_STATUSES), (view.status, running)
