"""``repair_read_model``: rows of the read model that disagree with their workflow are rewritten from the
workflow's own view; a workflow that ended (failed, terminated, timed out) while its return had not gets a
``workflow_ended`` ticket.

The activity does not import the workflow: it reads the status the workflow shows as a
search attribute (``messages.search_attributes``) and asks its view by the query's name
(``messages.return_queries``). Idempotent: a rewrite of an agreeing row changes nothing,
a ticket carries a dedupe key.
"""

from datetime import UTC, datetime, timedelta

import structlog
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from domain.clock import as_utc
from domain.returns import FINAL_STATUSES, ReturnView, Status
from messages.housekeeping import REPAIR_READ_MODEL, RepairReadModel, RepairReport
from messages.returns import VIEW_QUERY
from messages.search_attributes import RETURN_STATUS
from store import returns, tickets
from store.db import Database
from store.housekeeping import open_returns

log = structlog.get_logger()

QUERY_TIMEOUT = timedelta(seconds=5)


class ReadModelRepairer:
    def __init__(self, database: Database) -> None:
        self._database = database

    @activity.defn(name=REPAIR_READ_MODEL.name)
    async def repair_read_model(self, run: RepairReadModel) -> RepairReport:
        client = activity.client()
        report = RepairReport()
        after = ""
        while True:
            async with self._database.sessions() as session:
                rows = [(row.id, row.status) for row in await open_returns(session, after, run.batch)]
            for return_id, stored_status in rows:
                report.checked += 1
                await self._repair_one(client, return_id, stored_status, run, report)
            activity.heartbeat(after)
            if len(rows) < run.batch:
                break
            after = rows[-1][0]
        return report

    async def _repair_one(
        self, client: Client, return_id: str, stored_status: str, run: RepairReadModel, report: RepairReport
    ) -> None:
        handle = client.get_workflow_handle(return_id, result_type=ReturnView)
        try:
            described = await handle.describe(rpc_timeout=QUERY_TIMEOUT)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                log.warning("read_model_without_workflow", return_id=return_id, status=stored_status)
                report.missing.append(return_id)
            else:
                log.warning("drift_check_failed", return_id=return_id, error=str(error))
            return
        view: ReturnView | None = None
        try:
            if described.status == WorkflowExecutionStatus.RUNNING:
                # The workflow shows its status as a search attribute: no need to ask it when they agree.
                shown = described.typed_search_attributes.get(RETURN_STATUS)
                if shown is None or shown == stored_status:
                    return
                view = await handle.query(VIEW_QUERY, result_type=ReturnView, rpc_timeout=QUERY_TIMEOUT)
                if view is None or view.status.value == stored_status:
                    return
                if as_utc(view.updated_at) > datetime.now(UTC) - timedelta(seconds=run.grace_seconds):
                    return  # its own write of this change may still be on the way
            elif described.status == WorkflowExecutionStatus.COMPLETED:
                view = await handle.result(rpc_timeout=QUERY_TIMEOUT)
            else:
                view = await handle.query(VIEW_QUERY, result_type=ReturnView, rpc_timeout=QUERY_TIMEOUT)
        except Exception as error:  # a query needs a worker; the next run tries again
            log.warning("drift_check_failed", return_id=return_id, error=f"{type(error).__name__}: {error}")
        ended_badly = described.status not in (WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.COMPLETED)
        if view is None and not ended_badly:
            return
        async with self._database.transaction() as session:
            if view is not None:
                replaced = await returns.rewrite_return(session, view)
                if replaced is not None:
                    log.warning(
                        "read_model_repaired",
                        return_id=return_id,
                        was=replaced,
                        now=view.status.value,
                        workflow=described.status.name if described.status else None,
                    )
                    report.repaired.append(return_id)
            status_now = view.status if view is not None else Status(stored_status)
            if ended_badly and status_now not in FINAL_STATUSES:
                state = described.status.name.lower() if described.status else "unknown"
                await tickets.open_ticket(
                    session,
                    kind="workflow_ended",
                    return_id=return_id,
                    dedupe_key=f"workflow_ended:{return_id}",
                    summary=f"the workflow of {return_id} ended ({state}) while the return is "
                    f"{status_now.value}; a person must finish it",
                    details={"workflow_status": state, "return_status": status_now.value},
                )
                report.ended.append(return_id)
