"""Scheduled housekeeping: workflows that Temporal Schedules start (``returnflow/schedules.py``).

Each is a short run that hands its work to one activity (``activities/housekeeping.py``)
and ends; the schedule starts the next one. Temporal gives the timing, the retries,
the history of every run and the "one at a time" (overlap: skip) — there is no loop
or timer of our own anywhere.

- ``DeliverWebhooksWorkflow`` (every 15 s): due webhook deliveries, then customer notifications.
- ``ReconcileLedgerWorkflow`` (daily): the ledger against the payment provider's records.
- ``SweepStuckReturnsWorkflow`` (hourly): returns past their SLA get a ticket.
- ``RepairReadModelWorkflow`` (hourly): read-model rows that disagree with their workflow are rewritten.
"""

from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from activities import housekeeping as hk

# A failed run is retried a little; the next scheduled run picks up whatever is left.
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30), maximum_attempts=3)


@workflow.defn(name="DeliverWebhooksWorkflow")
class DeliverWebhooksWorkflow:
    @workflow.run
    async def run(self, run: hk.DeliverEvents) -> hk.DeliverEventsReport:
        webhooks = hk.DeliveryReport()
        for _ in range(run.rounds):
            sent = await workflow.execute_activity(
                hk.DELIVER_WEBHOOKS,
                hk.Batch(limit=run.limit),
                result_type=hk.DeliveryReport,
                start_to_close_timeout=timedelta(minutes=5),
                heartbeat_timeout=timedelta(minutes=1),
                retry_policy=RETRY,
            )
            webhooks = hk.DeliveryReport(
                **{name: getattr(webhooks, name) + getattr(sent, name) for name in hk.DeliveryReport.model_fields}
            )
            if sent.attempted < run.limit:
                break
        notifications = await workflow.execute_activity(
            hk.SEND_CUSTOMER_NOTIFICATIONS,
            hk.Batch(limit=run.limit),
            result_type=hk.NotificationReport,
            start_to_close_timeout=timedelta(minutes=5),
            heartbeat_timeout=timedelta(minutes=1),
            retry_policy=RETRY,
        )
        return hk.DeliverEventsReport(webhooks=webhooks, notifications=notifications)


T = TypeVar("T")


async def _job(activity: str, arg: BaseModel, result_type: type[T], heartbeat: timedelta) -> T:
    """A scheduled job is one long, heartbeating activity; the workflow gives it Temporal's retries."""
    return await workflow.execute_activity(
        activity,
        arg,
        result_type=result_type,
        start_to_close_timeout=timedelta(minutes=30),
        heartbeat_timeout=heartbeat,
        retry_policy=RETRY,
    )


@workflow.defn(name="ReconcileLedgerWorkflow")
class ReconcileLedgerWorkflow:
    @workflow.run
    async def run(self, run: hk.ReconcileLedger) -> hk.ReconcileReport:
        return await _job(hk.RECONCILE_LEDGER, run, hk.ReconcileReport, heartbeat=timedelta(minutes=5))


@workflow.defn(name="SweepStuckReturnsWorkflow")
class SweepStuckReturnsWorkflow:
    @workflow.run
    async def run(self, run: hk.SweepStuckReturns) -> hk.SweepReport:
        return await _job(hk.SWEEP_STUCK_RETURNS, run, hk.SweepReport, heartbeat=timedelta(minutes=2))


@workflow.defn(name="RepairReadModelWorkflow")
class RepairReadModelWorkflow:
    @workflow.run
    async def run(self, run: hk.RepairReadModel) -> hk.RepairReport:
        return await _job(hk.REPAIR_READ_MODEL, run, hk.RepairReport, heartbeat=timedelta(minutes=2))


HOUSEKEEPING_WORKFLOWS = [
    DeliverWebhooksWorkflow,
    ReconcileLedgerWorkflow,
    SweepStuckReturnsWorkflow,
    RepairReadModelWorkflow,
]
