"""Activities of the scheduled housekeeping workflows (``workflows/housekeeping.py``).

- ``deliver_webhooks``: POST the due webhook deliveries, signed; record delivered,
  retry later (backoff) or dead.
- ``send_customer_notifications``: tell customers about the statuses they care
  about, through the notifications partner, best effort.
- ``reconcile_ledger``: the ledger's refunds and store credits against what the
  payment provider lists; a difference becomes a ticket.
- ``sweep_stuck_returns``: returns that stayed in a status well past its SLA get
  an ``sla_breach`` ticket (the return's own workflow is the only one that may move it).
- ``repair_read_model``: rows of the read model that disagree with their workflow
  are rewritten from the workflow's own view.

The names and payloads are in ``messages/housekeeping.py``; each activity is
idempotent: a retry sends at most what is still due and opens no ticket twice
(tickets carry a dedupe key).
"""

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import structlog
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from connectors.errors import PartnerRejected, PartnerUnavailable
from connectors.notifications import Notification, Notifications
from connectors.payment_records import PaymentRecords
from domain.notifications import notification_data
from domain.policy import Policy
from domain.reconciliation import Payout, ledger_mismatches, missing_in_ledger, provider_candidates
from domain.returns import FINAL_STATUSES, ReturnView, Status
from domain.sla import DECISION_LIMIT, sla_deadline
from messages.housekeeping import (
    DELIVER_WEBHOOKS,
    RECONCILE_LEDGER,
    REPAIR_READ_MODEL,
    SEND_CUSTOMER_NOTIFICATIONS,
    SWEEP_STUCK_RETURNS,
    Batch,
    DeliveryReport,
    NotificationReport,
    ReconcileLedger,
    ReconcileReport,
    RepairReadModel,
    RepairReport,
    SweepReport,
    SweepStuckReturns,
)
from messages.return_queries import VIEW_QUERY
from messages.search_attributes import RETURN_STATUS
from returnflow.settings import Settings
from store import outbox, returns, tickets
from store.db import Database, as_utc
from store.housekeeping import keys_in_ledger, ledger_payouts, open_returns
from store.policies import policy_version

log = structlog.get_logger()

# ---- the activities ------------------------------------------------------------

DELIVERY_CONCURRENCY = 10
QUERY_TIMEOUT = timedelta(seconds=5)


class HousekeepingActivities:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        http: httpx.AsyncClient,
        notifications: Notifications,
        payment_records: PaymentRecords,
    ):
        self._database = database
        self._settings = settings
        self._http = http
        self._notifications = notifications
        self._payment_records = payment_records

    # -- webhooks --

    @activity.defn(name=DELIVER_WEBHOOKS.name)
    async def deliver_webhooks(self, batch: Batch) -> DeliveryReport:
        """Send the deliveries that are due, ``DELIVERY_CONCURRENCY`` at a time, and record each outcome."""
        async with self._database.sessions() as session:
            due = await outbox.due_deliveries(session, datetime.now(UTC), batch.limit)
        give_up_after = timedelta(hours=self._settings.webhook_retry_hours)
        gate = asyncio.Semaphore(DELIVERY_CONCURRENCY)

        async def deliver(item: outbox.DueDelivery) -> str:
            async with gate:
                error = await self._post(item)
                async with self._database.transaction() as session:
                    state = await outbox.record_attempt(
                        session, item, error=error, now=datetime.now(UTC), give_up_after=give_up_after
                    )
            activity.heartbeat()
            if error is not None:
                log.info(
                    "webhook_attempt_failed",
                    event_id=item.event_id,
                    endpoint_id=item.endpoint_id,
                    error=error,
                    state=state,
                )
            return state

        states = await asyncio.gather(*(deliver(item) for item in due))
        return DeliveryReport(
            attempted=len(states),
            delivered=states.count("delivered"),
            retrying=states.count("pending"),
            dead=states.count("dead"),
        )

    async def _post(self, item: outbox.DueDelivery) -> str | None:
        """One attempt; None when the endpoint acknowledged (2xx), else what went wrong."""
        headers = {
            "content-type": "application/json",
            "user-agent": "returnflow-webhooks/1",
            outbox.SIGNATURE_HEADER: outbox.sign(item.secret, int(time.time()), item.body),
            outbox.EVENT_ID_HEADER: item.event_id,
        }
        try:
            response = await self._http.post(
                item.url,
                content=item.body,
                headers=headers,
                timeout=self._settings.webhook_timeout_seconds,
                follow_redirects=False,
            )
        except Exception as exc:  # any failure to deliver is one failed attempt, never a failed batch
            return f"{type(exc).__name__}: {exc}"[:1000]
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}: {response.text[:200]}"

    # -- customer notifications --

    @activity.defn(name=SEND_CUSTOMER_NOTIFICATIONS.name)
    async def send_customer_notifications(self, batch: Batch) -> NotificationReport:
        """Oldest first, one at a time. The event id is the idempotency key, so a retry never sends twice.

        A partner that cannot answer ends the run (the next run tries again); after
        ``notification_max_attempts`` attempts, or a refusal, the message is given up.
        """
        async with self._database.sessions() as session:
            due = await outbox.due_notifications(session, batch.limit)
        report = NotificationReport()
        for item in due:
            view = item.view
            final, error = False, None
            try:
                await self._notifications.send(
                    Notification(
                        idempotency_key=item.event_id,
                        reference=str(view["id"]),
                        customer_id=str(view["customer_id"]),
                        template=f"return_{item.status}",
                        data=notification_data(view),
                    )
                )
            except PartnerRejected as refusal:
                final, error = True, str(refusal)
            except PartnerUnavailable as failure:
                final, error = item.attempts + 1 >= self._settings.notification_max_attempts, str(failure)
            async with self._database.transaction() as session:
                state = await outbox.record_notification(session, item, error=error, final=final, now=datetime.now(UTC))
            activity.heartbeat()
            report.attempted += 1
            report.sent += state == "sent"
            report.retrying += state == "pending"
            report.failed += state == "failed"
            if state == "failed":
                log.warning("customer_notification_given_up", event_id=item.event_id, error=error)
            if state == "pending":
                log.info("notifications_unavailable", event_id=item.event_id, error=error)
                break
        return report

    # -- ledger reconciliation --

    @activity.defn(name=RECONCILE_LEDGER.name)
    async def reconcile_ledger(self, run: ReconcileLedger) -> ReconcileReport:
        now = datetime.now(UTC)
        since = now - timedelta(hours=run.window_hours)
        try:
            paid = {
                "refund": await self._payment_records.refunds(),
                "store_credit": await self._payment_records.store_credits(),
            }
        except PartnerRejected as refusal:
            raise ApplicationError(str(refusal), type=refusal.code, non_retryable=True) from None
        activity.heartbeat()
        async with self._database.sessions() as session:
            ledger = [
                Payout(row.idempotency_key, row.kind, row.amount_minor, row.currency, row.return_id)
                for row in await ledger_payouts(session, since)
            ]
            candidates = provider_candidates(paid, since, now - timedelta(hours=run.grace_hours))
            known = await keys_in_ledger(session, (record.idempotency_key for _, record in candidates))
        mismatches = ledger_mismatches(ledger, paid) + missing_in_ledger(candidates, known)
        async with self._database.transaction() as session:
            for mismatch in mismatches:
                await tickets.open_ticket(
                    session,
                    kind="reconciliation",
                    summary=mismatch.summary,
                    return_id=mismatch.return_id,
                    dedupe_key=mismatch.dedupe_key,
                    details={
                        "problem": mismatch.problem,
                        "kind": mismatch.kind,
                        "idempotency_key": mismatch.idempotency_key,
                        "ledger": mismatch.ledger,
                        "provider": mismatch.provider,
                    },
                )
        if mismatches:
            log.warning("ledger_reconciliation_mismatches", count=len(mismatches))
        return ReconcileReport(
            ledger_rows=len(ledger),
            provider_records=sum(len(r) for r in paid.values()),
            mismatches=[m.dedupe_key for m in mismatches],
        )

    # -- stuck returns --

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
                    if deadline is None or now <= deadline:
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

    # -- drift repair --

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

    def all(self) -> list:
        return [
            self.deliver_webhooks,
            self.send_customer_notifications,
            self.reconcile_ledger,
            self.sweep_stuck_returns,
            self.repair_read_model,
        ]
