"""The Temporal Schedules that run the housekeeping workflows (``workflows/housekeeping.py``).

``ensure_schedules`` is called by ``returnflow temporal setup`` (and by the dev
stack's worker when it starts, ``returnflow/temporal_setup.py``): it creates each
schedule, or brings an existing one in line with the code (interval, workflow,
timeouts) while keeping its state — a schedule an operator paused in Temporal UI
stays paused. Calling it any number of times, from any number of workers, leaves
one schedule of each.

Schedule ids are ``<task queue>-<job>`` (``returnflow-deliver-webhooks``…), so two
deployments sharing a namespace with their own task queues do not collide.
Every schedule skips a run while the previous one is still going (overlap: skip).
"""

import dataclasses
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from pydantic import BaseModel
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from messages import housekeeping as hk
from returnflow.settings import Settings
from workflows.housekeeping import (
    DeliverWebhooksWorkflow,
    PruneOutboxWorkflow,
    ReconcileLedgerWorkflow,
    RepairReadModelWorkflow,
    SweepStuckReturnsWorkflow,
)

log = structlog.get_logger()


@dataclass(frozen=True)
class Job:
    name: str
    workflow: Any  # the workflow's run method
    arg: BaseModel
    every: timedelta
    # A run may take this long before Temporal ends it (and the next one may start).
    timeout: timedelta


def jobs(settings: Settings) -> list[Job]:
    return [
        Job(
            "deliver-webhooks",
            DeliverWebhooksWorkflow.run,
            hk.DeliverEvents(),
            timedelta(seconds=settings.webhook_delivery_interval_seconds),
            timedelta(minutes=15),
        ),
        Job(
            "reconcile-ledger", ReconcileLedgerWorkflow.run, hk.ReconcileLedger(), timedelta(days=1), timedelta(hours=2)
        ),
        Job(
            "sweep-stuck-returns",
            SweepStuckReturnsWorkflow.run,
            hk.SweepStuckReturns(),
            timedelta(hours=1),
            timedelta(minutes=45),
        ),
        Job(
            "repair-read-model",
            RepairReadModelWorkflow.run,
            hk.RepairReadModel(),
            timedelta(hours=1),
            timedelta(minutes=45),
        ),
        Job("prune-outbox", PruneOutboxWorkflow.run, hk.PruneOutbox(), timedelta(hours=1), timedelta(minutes=45)),
    ]


def schedule_id(settings: Settings, job: Job) -> str:
    return f"{settings.task_queue}-{job.name}"


def schedule_for(settings: Settings, job: Job) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            job.workflow,
            job.arg,
            id=schedule_id(settings, job),
            task_queue=settings.task_queue,
            execution_timeout=job.timeout,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=job.every)]),
        # A missed run (server down) is made up once when it is back, not once per missed interval.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=min(job.every, timedelta(hours=1))),
    )


async def ensure_schedules(client: Client, settings: Settings) -> list[str]:
    """Create or update every housekeeping schedule; returns their ids."""
    ids = []
    for job in jobs(settings):
        wanted = schedule_for(settings, job)
        ident = schedule_id(settings, job)
        try:
            await client.create_schedule(ident, wanted)
            log.info("schedule_created", schedule_id=ident, every=str(job.every))
        except ScheduleAlreadyRunningError:

            def keep_state(current: ScheduleUpdateInput, wanted: Schedule = wanted) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=dataclasses.replace(wanted, state=current.description.schedule.state))

            await client.get_schedule_handle(ident).update(keep_state)
            log.info("schedule_updated", schedule_id=ident, every=str(job.every))
        ids.append(ident)
    return ids
