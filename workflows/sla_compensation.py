"""Compensation when we are late: the attention of a reason the policy compensates opens, the customer gets it.

Each breach of a reason is numbered, and its number is in the promotions partner's
idempotency key: a retried or replayed call issues nothing twice, a second breach of
the same reason (an extended deadline missed again) issues a second one. The view
listing it, its ledger row and the customer's message are written together
(``RECORD_COMPENSATION``). A promotion that cannot be issued is noted on the
timeline; the return goes on.
"""

from collections import Counter

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain import idempotency_keys as keys
    from domain.attention import AttentionReason
    from domain.policy import Policy
    from domain.returns import TimelineEntry
    from domain.sla_compensation import IssuedCompensation, ledger_unit
    from messages import late_returns as act
    from workflows import shapes
    from workflows.calls import partner, store
    from workflows.return_record import ReturnRecord

# Returns that escalated before compensation existed replay without it.
SLA_COMPENSATION_PATCH = "sla-compensation"


class SlaCompensator:
    def __init__(self, record: ReturnRecord, policy: Policy) -> None:
        self._record = record
        self._policy = policy
        self._breaches: Counter[str] = Counter()

    async def breached(self, reason: AttentionReason) -> None:
        """The deadline behind ``reason`` was missed: issue the policy's compensation for it, once."""
        offer = self._policy.sla_compensation.get(reason)
        if offer is None or not shapes.patched(SLA_COMPENSATION_PATCH):
            return
        view = self._record.view
        self._breaches[reason] += 1
        key = keys.compensation_key(view.id, reason, self._breaches[reason])
        unit = ledger_unit(offer, view.refund.currency)
        try:
            issued = await partner(
                act.ISSUE_COMPENSATION,
                act.IssueCompensation(
                    idempotency_key=key,
                    return_id=view.id,
                    customer_id=view.customer_id,
                    kind=offer.kind,
                    amount=offer.amount,
                    currency=unit,
                ),
            )
        except ActivityError as failure:
            await self._record.note(f"the {offer.kind} for {reason} could not be issued: {failure.cause or failure}")
            return
        compensation = IssuedCompensation(
            kind=offer.kind, amount=offer.amount, code=issued.code, reason=reason, at=workflow.now()
        )
        view.compensations.append(compensation)
        view.updated_at = compensation.at
        what = f"a {offer.amount} {unit} coupon" if offer.kind == "coupon" else f"{offer.amount} points"
        view.timeline.append(TimelineEntry(status=view.status, at=compensation.at, note=f"{what} given for {reason}"))
        await store(
            act.RECORD_COMPENSATION,
            act.RecordCompensation(
                view=view,
                revision=self._record.next_revision(),
                idempotency_key=key,
                compensation=compensation,
                unit=unit,
            ),
        )
