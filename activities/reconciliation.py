"""``reconcile_ledger``: the ledger's refunds and store credits against what the payment provider lists;
a difference becomes a ticket (the rules: ``domain/reconciliation.py``).

Idempotent: a ticket carries the mismatch's dedupe key, so a retry opens none twice.
"""

from datetime import UTC, datetime, timedelta

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from connectors.errors import PartnerRejected
from connectors.payment_records import PaymentRecords
from domain.reconciliation import Payout, ledger_mismatches, missing_in_ledger, provider_candidates
from messages.housekeeping import RECONCILE_LEDGER, ReconcileLedger, ReconcileReport
from store import tickets
from store.db import Database
from store.housekeeping import keys_in_ledger, ledger_payouts

log = structlog.get_logger()


class LedgerReconciler:
    def __init__(self, database: Database, payment_records: PaymentRecords) -> None:
        self._database = database
        self._payment_records = payment_records

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
