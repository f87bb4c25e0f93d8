"""``sweep_stuck_returns``: returns that stayed in a status well past its SLA (``domain/sla.py``) get an
``sla_breach`` ticket; the return's own workflow is the only one that may move it.

Idempotent: one ticket per return and status (dedupe key).
"""

from datetime import UTC, datetime

import structlog
from temporalio import activity

from domain.clock import as_utc
from domain.policy import Policy
from domain.returns import ReturnView
from domain.sla import DECISION_LIMIT, is_overdue, sla_deadline
from messages.housekeeping import SWEEP_STUCK_RETURNS, SweepReport, SweepStuckReturns
from store import tickets
from store.db import Database
from store.housekeeping import open_returns
from store.policies import policy_version

log = structlog.get_logger()


class StuckReturnSweeper:
    def __init__(self, database: Database) -> None:
        self._database = database

    @activity.defn(name=SWEEP_STUCK_RETURNS.name)
    async def sweep_stuck_returns(self, run: SweepStuckReturns) -> SweepReport:
        now = datetime.now(UTC)
        report = SweepReport()
        policies: dict[int, Policy] = {}
        after = ""
        while True:
            async with self._database.transaction() as session:
                rows = await open_returns(session, after, run.batch, updated_before=now - DECISION_LIMIT)
                for row in rows:
                    view = ReturnView.model_validate(row.document)
                    if view.policy_version not in policies:
                        policies[view.policy_version] = await policy_version(session, view.policy_version)
                    deadline = sla_deadline(view, policies[view.policy_version])
                    report.checked += 1
                    if deadline is None or not is_overdue(deadline, now):
                        continue
                    since = as_utc(view.updated_at).isoformat()
                    await tickets.open_ticket(
                        session,
                        kind="sla_breach",
                        return_id=view.id,
                        dedupe_key=f"sla_breach:{view.id}:{view.status.value}",
                        summary=f"{view.id} has been {view.status.value} since {since}, past its SLA "
                        f"({deadline.isoformat()}); its workflow has not moved it on",
                        details={"status": view.status.value, "since": since, "deadline": deadline.isoformat()},
                    )
                    report.stuck.append(view.id)
            activity.heartbeat(after)
            if len(rows) < run.batch:
                break
            after = rows[-1].id
        if report.stuck:
            log.warning("stuck_returns", count=len(report.stuck))
        return report
