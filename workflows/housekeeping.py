"""Scheduled housekeeping: workflows that Temporal Schedules start (``returnflow/schedules.py``).

Each is a short run that hands its work to one activity (``messages/housekeeping.py``
names them; one module each under ``activities/``) and ends; the schedule starts the
next one. Temporal gives the timing, the retries, the history of every run and the
"one at a time" (overlap: skip) — there is no loop or timer of our own anywhere.

- ``DeliverWebhooksWorkflow`` (every 15 s): due webhook deliveries, then customer notifications.
- ``ReconcileLedgerWorkflow`` (daily): the ledger against the payment provider's records.
- ``SweepStuckReturnsWorkflow`` (hourly): returns past their SLA get a ticket.
- ``RepairReadModelWorkflow`` (hourly): read-model rows that disagree with their workflow are rewritten.
- ``PruneOutboxWorkflow`` (hourly): events past the retention whose sending is over are deleted.
"""

from datetime import timedelta
from typing import TypeVar, cast

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from messages import housekeeping as hk
    from messages.activity_ref import ActivityRef

# A failed run is retried a little; the next scheduled run picks up whatever is left.
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30), maximum_attempts=3)

A = TypeVar("A")
R = TypeVar("R")


async def job(
    ref: ActivityRef[A, R], arg: A, heartbeat: timedelta, start_to_close: timedelta = timedelta(minutes=30)
) -> R:
    """A scheduled job is one long, heartbeating activity; the workflow gives it Temporal's retries."""
    result = await workflow.execute_activity(
        ref.name,
        arg,
        result_type=ref.result_type,
        start_to_close_timeout=start_to_close,
        heartbeat_timeout=heartbeat,
        retry_policy=RETRY,
        summary=ref.summary(arg),
    )
    return cast(R, result)


@workflow.defn(name="DeliverWebhooksWorkflow")
class DeliverWebhooksWorkflow:
    @workflow.run
    async def run(self, run: hk.DeliverEvents) -> hk.DeliverEventsReport:
        webhooks = hk.DeliveryReport()
        for _ in range(run.rounds):
            sent = await job(
                hk.DELIVER_WEBHOOKS,
                hk.Batch(limit=run.limit),
                heartbeat=timedelta(minutes=1),
                start_to_close=timedelta(minutes=5),
            )
            webhooks = hk.DeliveryReport(
                **{name: getattr(webhooks, name) + getattr(sent, name) for name in hk.DeliveryReport.model_fields}
            )
            if sent.attempted < run.limit:
                break
        notifications = await job(
            hk.SEND_CUSTOMER_NOTIFICATIONS,
            hk.Batch(limit=run.limit),
            heartbeat=timedelta(minutes=1),
            start_to_close=timedelta(minutes=5),
        )
        return hk.DeliverEventsReport(webhooks=webhooks, notifications=notifications)


@workflow.defn(name="ReconcileLedgerWorkflow")
class ReconcileLedgerWorkflow:
    @workflow.run
    async def run(self, run: hk.ReconcileLedger) -> hk.ReconcileReport:
        return await job(hk.RECONCILE_LEDGER, run, heartbeat=timedelta(minutes=5))


@workflow.defn(name="SweepStuckReturnsWorkflow")
class SweepStuckReturnsWorkflow:
    @workflow.run
    async def run(self, run: hk.SweepStuckReturns) -> hk.SweepReport:
        return await job(hk.SWEEP_STUCK_RETURNS, run, heartbeat=timedelta(minutes=2))


@workflow.defn(name="RepairReadModelWorkflow")
class RepairReadModelWorkflow:
    @workflow.run
    async def run(self, run: hk.RepairReadModel) -> hk.RepairReport:
        return await job(hk.REPAIR_READ_MODEL, run, heartbeat=timedelta(minutes=2))


@workflow.defn(name="PruneOutboxWorkflow")
class PruneOutboxWorkflow:
    @workflow.run
    async def run(self, run: hk.PruneOutbox) -> hk.PruneReport:
        return await job(hk.PRUNE_OUTBOX, run, heartbeat=timedelta(minutes=2))


HOUSEKEEPING_WORKFLOWS = [
    DeliverWebhooksWorkflow,
    ReconcileLedgerWorkflow,
    SweepStuckReturnsWorkflow,
    RepairReadModelWorkflow,
    PruneOutboxWorkflow,
]
