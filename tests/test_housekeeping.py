"""The scheduled jobs: their schedules, ledger reconciliation, the stuck-return sweep and drift repair.

Each job runs as its workflow on a real worker and the real Temporal dev server
(the time-skipping test server has no schedules), started by hand rather than by
its schedule.
"""

import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select, update
from temporalio.client import ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from domain.policy import DEFAULT_POLICY
from domain.returns import Decision, Logistics, Refund, ReturnLine, ReturnView, Status
from messages import housekeeping as hk
from returnflow.schedules import ensure_schedules, jobs, schedule_id
from returnflow.settings import Settings
from store.db import Database
from store.returns import save_return
from store.tables import LedgerEntry, OutboxEvent, ReturnRow, Ticket
from tests.api_client import Callers, default_policy, put_order, wait_for_status
from tests.conftest import Run
from tests.factories import return_body
from workflows.housekeeping import ReconcileLedgerWorkflow, RepairReadModelWorkflow, SweepStuckReturnsWorkflow


async def tickets_with(database: Database, **where: Any) -> list[Ticket]:
    async with database.sessions() as session:
        query = select(Ticket)
        for name, value in where.items():
            query = query.where(getattr(Ticket, name) == value)
        return list((await session.scalars(query)).all())


# ---- schedules -------------------------------------------------------------------


async def test_schedules_are_created_once_and_keep_their_state(local_env: WorkflowEnvironment) -> None:
    settings = Settings(task_queue="returnflow-test-" + secrets.token_hex(4), webhook_delivery_interval_seconds=20)
    client = local_env.client
    try:
        first = await ensure_schedules(client, settings)
        await client.get_schedule_handle(first[0]).pause(note="paused by an operator")
        again = await ensure_schedules(client, settings.model_copy(update={"webhook_delivery_interval_seconds": 30}))

        assert first == again == [schedule_id(settings, job) for job in jobs(settings)]
        assert first[0] == f"{settings.task_queue}-deliver-webhooks"
        listed = [s.id async for s in await client.list_schedules()]
        assert all(listed.count(ident) == 1 for ident in first), listed
        described = {ident: await client.get_schedule_handle(ident).describe() for ident in first}
        deliver = described[first[0]].schedule
        assert deliver.spec.intervals[0].every == timedelta(seconds=30), "a restart applies the new interval"
        assert deliver.state.paused and deliver.state.note == "paused by an operator", "and keeps the state"
        assert isinstance(deliver.action, ScheduleActionStartWorkflow)
        assert deliver.action.workflow == "DeliverWebhooksWorkflow"
        assert deliver.action.task_queue == settings.task_queue
        started: set[str] = set()
        for description in described.values():
            assert isinstance(description.schedule.action, ScheduleActionStartWorkflow)
            started.add(description.schedule.action.workflow)
        assert started == {
            "DeliverWebhooksWorkflow",
            "ReconcileLedgerWorkflow",
            "SweepStuckReturnsWorkflow",
            "RepairReadModelWorkflow",
            "PruneOutboxWorkflow",
        }
        assert described[first[1]].schedule.spec.intervals[0].every == timedelta(days=1)
        assert all(not d.schedule.state.paused for ident, d in described.items() if ident != first[0])
    finally:
        for job in jobs(settings):
            await client.get_schedule_handle(schedule_id(settings, job)).delete()


# ---- ledger reconciliation -------------------------------------------------------


async def test_the_ledger_is_reconciled_with_the_payment_provider(
    database: Database, sandbox: httpx.AsyncClient, housekeeper: Run
) -> None:
    tag = secrets.token_hex(6)
    return_id = f"ret_recon{tag}"

    async def provider_refund(key: str, amount: str) -> None:
        made = await sandbox.post(
            "/payments/refunds",
            json={
                "idempotency_key": key,
                "payment_id": "p1",
                "provider_ref": "ch_1",
                "amount": amount,
                "currency": "USD",
                "reference": return_id,
            },
        )
        assert made.status_code == 201, made.text

    def ledger_row(key: str, kind: str, minor: int) -> LedgerEntry:
        return LedgerEntry(
            idempotency_key=key,
            return_id=return_id,
            order_id="O-recon",
            kind=kind,
            payment_id="p1" if kind == "refund" else None,
            amount_minor=minor,
            currency="USD",
            provider_ref=None,
            credit_note=None,
            created_at=datetime.now(UTC),
        )

    matching, differing, extra, unrecorded = (
        f"{return_id}:{name}" for name in ("matching", "differing", "extra", "unrecorded")
    )
    await provider_refund(matching, "5.00")
    await provider_refund(differing, "10.00")
    credit = await sandbox.post(
        "/payments/store-credits",
        json={
            "idempotency_key": unrecorded,
            "customer_id": "C-recon",
            "amount": "7.50",
            "currency": "USD",
            "reference": return_id,
        },
    )
    assert credit.status_code == 201, credit.text
    async with database.transaction() as session:
        session.add_all(
            [
                ledger_row(matching, "refund", 500),
                ledger_row(differing, "refund", 999),
                ledger_row(extra, "store_credit", 1234),
            ]
        )

    report = await housekeeper(ReconcileLedgerWorkflow.run, hk.ReconcileLedger(grace_hours=0))
    again = await housekeeper(ReconcileLedgerWorkflow.run, hk.ReconcileLedger(grace_hours=0))

    mine = sorted(key for key in report.mismatches if return_id in key)
    assert mine == sorted(
        [
            f"reconciliation:amount_differs:refund:{differing}",
            f"reconciliation:missing_at_provider:store_credit:{extra}",
            f"reconciliation:missing_in_ledger:store_credit:{unrecorded}",
        ]
    )
    assert sorted(key for key in again.mismatches if return_id in key) == mine
    found = await tickets_with(database, return_id=return_id)
    assert sorted(t.dedupe_key or "" for t in found) == mine, "one ticket per mismatch, however many runs"
    assert {t.kind for t in found} == {"reconciliation"} and all(t.status == "open" for t in found)
    [differs] = [t for t in found if "amount_differs" in (t.dedupe_key or "")]
    assert "9.99 USD" in differs.summary and "10.00 USD" in differs.summary

    # A provider record younger than the grace period may still be on its way into the ledger.
    patient = await housekeeper(ReconcileLedgerWorkflow.run, hk.ReconcileLedger())
    assert not [key for key in patient.mismatches if "missing_in_ledger" in key and return_id in key]


# ---- stuck returns ---------------------------------------------------------------


def fabricated(status: Status, updated: timedelta, ship_by: timedelta | None = None) -> ReturnView:
    """A read-model row as a workflow would have written it ``updated`` ago (no workflow behind it)."""
    now = datetime.now(UTC)
    return ReturnView(
        id="ret_sweep" + secrets.token_hex(6),
        order_id="O-sweep",
        customer_id="C-sweep",
        status=status,
        lines=[
            ReturnLine(line_id="L1", quantity=1, reason="defective", liability="merchant", unit_price=Decimal("19.99"))
        ],
        decision=Decision(outcome="auto_approved"),
        logistics=Logistics(method="mail", ship_by=now + ship_by if ship_by is not None else None),
        refund=Refund(amount=Decimal("19.99"), currency="USD"),
        policy_version=1,
        created_at=now - updated,
        updated_at=now - updated,
    )


async def test_returns_stuck_past_their_sla_get_one_ticket_and_keep_their_status(
    database: Database, housekeeper: Run
) -> None:
    review_sla = timedelta(hours=DEFAULT_POLICY.review_sla_hours)
    inspection_sla = timedelta(hours=DEFAULT_POLICY.inspection_sla_hours)
    stuck = [
        fabricated(Status.RECEIVED, 2 * inspection_sla + timedelta(hours=1)),
        fabricated(Status.UNDER_REVIEW, 2 * review_sla + timedelta(hours=1)),
        fabricated(Status.AWAITING_SHIPMENT, timedelta(days=20), ship_by=-timedelta(days=2)),
        fabricated(Status.REQUESTED, timedelta(hours=2)),
    ]
    on_time = [
        fabricated(Status.RECEIVED, inspection_sla),
        fabricated(Status.UNDER_REVIEW, review_sla),
        fabricated(Status.AWAITING_SHIPMENT, timedelta(days=20), ship_by=timedelta(hours=12)),
        fabricated(Status.COMPLETED, timedelta(days=400)),
    ]
    for view in stuck + on_time:
        async with database.transaction() as session:
            await save_return(session, view, revision=1)

    report = await housekeeper(SweepStuckReturnsWorkflow.run, hk.SweepStuckReturns(batch=3))
    await housekeeper(SweepStuckReturnsWorkflow.run, hk.SweepStuckReturns())

    assert {v.id for v in stuck} <= set(report.stuck)
    assert not {v.id for v in on_time} & set(report.stuck)
    for view in stuck:
        [ticket] = await tickets_with(database, return_id=view.id)
        assert ticket.kind == "sla_breach" and ticket.dedupe_key == f"sla_breach:{view.id}:{view.status.value}"
        assert view.status.value in ticket.summary
    for view in on_time:
        assert await tickets_with(database, return_id=view.id) == []
    async with database.sessions() as session:
        statuses = {
            row.id: row.status
            for row in (await session.scalars(select(ReturnRow).where(ReturnRow.id.in_([v.id for v in stuck])))).all()
        }
    assert statuses == {v.id: v.status.value for v in stuck}, "only a return's own workflow moves it"


# ---- drift repair ----------------------------------------------------------------


async def tamper(database: Database, return_id: str, status: str) -> None:
    async with database.transaction() as session:
        row = await session.get(ReturnRow, return_id)
        assert row is not None
        await session.execute(
            update(ReturnRow)
            .where(ReturnRow.id == return_id)
            .values(status=status, document={**row.document, "status": status})
        )


async def test_drift_repair_rewrites_rows_that_disagree_with_their_workflow(
    api: Callers, database: Database, local_env: WorkflowEnvironment, housekeeper: Run
) -> None:
    await default_policy(api)
    running, ended, terminated = [
        (await api.service.post("/v1/returns", json=return_body(order_id=await put_order(api)))).json()["id"]
        for _ in range(3)
    ]
    for return_id in (running, ended, terminated):
        await wait_for_status(api, return_id, "awaiting_shipment")
    await api.service.post(f"/v1/returns/{ended}/cancel", json={})
    await wait_for_status(api, ended, "canceled")
    await local_env.client.get_workflow_handle(terminated).terminate(reason="test: gone wrong")

    await tamper(database, running, "in_transit")
    await tamper(database, ended, "awaiting_shipment")

    # Just changed: the workflow's own write may still be on its way, so the running one is left alone.
    patient = await housekeeper(RepairReadModelWorkflow.run, hk.RepairReadModel())
    assert running not in patient.repaired and ended in patient.repaired
    report = await housekeeper(RepairReadModelWorkflow.run, hk.RepairReadModel(grace_seconds=0))

    assert running in report.repaired and ended not in report.repaired
    assert (await api.service.get(f"/v1/returns/{running}")).json()["status"] == "awaiting_shipment"
    assert (await api.service.get(f"/v1/returns/{ended}")).json()["status"] == "canceled"
    assert terminated not in report.repaired + patient.repaired and terminated in report.ended
    [ticket] = await tickets_with(database, return_id=terminated)
    assert ticket.kind == "workflow_ended" and "terminated" in ticket.summary
    async with database.sessions() as session:
        announced = (
            await session.scalars(
                select(OutboxEvent.type).where(OutboxEvent.return_id == running).order_by(OutboxEvent.created_at)
            )
        ).all()
    assert announced == ["return.approved", "return.awaiting_shipment", "return.awaiting_shipment"], (
        "a repaired status is announced again"
    )

    quiet = await housekeeper(RepairReadModelWorkflow.run, hk.RepairReadModel(grace_seconds=0))
    assert not {running, ended} & set(quiet.repaired)
