"""``prune_outbox``: events older than ``outbox_retention_days`` whose sending is over are deleted, with their
webhook deliveries and customer notifications (``store.outbox.prune_finished_events`` says which).

Idempotent: a retry deletes what is still there to delete. Batches of their own transaction
each, so a large backlog never holds one long lock.
"""

from datetime import UTC, datetime, timedelta

import structlog
from temporalio import activity

from messages.housekeeping import PRUNE_OUTBOX, PruneOutbox, PruneReport
from store.db import Database
from store.outbox import prune_finished_events

log = structlog.get_logger()


class OutboxPruner:
    def __init__(self, database: Database, *, retention: timedelta) -> None:
        self._database = database
        self._retention = retention

    @activity.defn(name=PRUNE_OUTBOX.name)
    async def prune_outbox(self, run: PruneOutbox) -> PruneReport:
        before = datetime.now(UTC) - self._retention
        report = PruneReport()
        while True:
            async with self._database.transaction() as session:
                deleted = await prune_finished_events(session, before, run.batch)
            report.deleted += deleted
            activity.heartbeat(report.deleted)
            if deleted < run.batch:
                break
        if report.deleted:
            log.info("outbox_pruned", deleted=report.deleted, before=before.isoformat())
        return report
