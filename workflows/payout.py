"""Paying a return out: to the original tenders or as store credit, then into the ledger.

Every call carries a key derived from the return id and the step, so a replay
or a retry can never pay twice. A tender that refuses (a closed card) falls
back to store credit when the policy allows it.

Before paying the original tenders the return claims its parts on them in the
store (``store/tender_claims.py``), so two returns of one order paying out at the
same instant can never both refund the same money; what was claimed and not
refunded (refused, or never tried) is released.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain import idempotency_keys as keys
    from domain.ledger import STORE_CREDIT, MoneyMovement, ledger_movements
    from domain.orders import Payment
    from domain.refunds import allocate_refund
    from domain.returns import RefundPart, ReturnView
    from messages import return_activities as act
    from workflows import shapes
    from workflows.calls import partner, refused_by_partner, store
    from workflows.return_record import ReturnRecord

LEDGER_PATCH = "money-ledger"
# Claim the refund on the tenders atomically instead of reading what other returns refunded.
TENDER_CLAIMS_PATCH = "tender-claims"


@dataclass
class PayOutResult:
    paid: bool
    notes: list[str] = field(default_factory=list)
    problem: str | None = None


async def pay_out(
    record: ReturnRecord, payments: list[Payment], as_store_credit: bool, fall_back_to_store_credit: bool
) -> PayOutResult:
    view = record.view
    refund = view.refund
    result = PayOutResult(paid=True)
    # Returns that were already paying out before the ledger existed replay without it.
    with_ledger = shapes.patched(LEDGER_PATCH)
    with_claims = False
    if as_store_credit:
        refund.parts = [_store_credit_part(keys.store_credit_key(view.id), refund.amount)]
    elif shapes.patched(TENDER_CLAIMS_PATCH):
        with_claims = True
        claimed = await store(
            act.CLAIM_TENDERS,
            act.ClaimTenders(
                return_id=view.id,
                order_id=view.order_id,
                amount=refund.amount,
                currency=refund.currency,
                payment_ids=[payment.payment_id for payment in payments],
            ),
        )
        refund.parts = [
            RefundPart(payment_id=claim.payment_id, amount=claim.amount, idempotency_key=claim.idempotency_key)
            for claim in claimed.claims
        ]
        if sum((part.amount for part in refund.parts), Decimal(0)) < refund.amount:
            await _release(refund.parts, refused=set())
            return PayOutResult(paid=False, problem="the order's payments do not cover the refund")
    else:
        taken = act.RefundedSoFar(per_payment={})
        if with_ledger:
            taken = await store(
                act.REFUNDED_SO_FAR,
                act.OrderRefunds(order_id=view.order_id, excluding_return_id=view.id),
            )
        refund.parts = [
            RefundPart(
                payment_id=payment.payment_id,
                amount=amount,
                idempotency_key=keys.refund_key(view.id, payment.payment_id),
            )
            for payment, amount in allocate_refund(refund.amount, payments, taken.per_payment)
        ]
        if sum((part.amount for part in refund.parts), Decimal(0)) < refund.amount:
            return PayOutResult(paid=False, problem="the order's payments do not cover the refund")
    by_id = {payment.payment_id: payment for payment in payments}
    refused: set[str] = set()  # the keys of the parts a tender definitively refused
    for part in list(refund.parts):
        failure = await _try_to_pay(view, part, by_id)
        if failure is None:
            continue
        if refused_by_partner(failure):
            refused.add(part.idempotency_key)
        if not (fall_back_to_store_credit and part.payment_id != STORE_CREDIT and refused_by_partner(failure)):
            result = PayOutResult(
                paid=False, problem=f"paying {part.amount} to {part.payment_id} failed: {failure.cause or failure}"
            )
            break
        instead = _store_credit_part(keys.fallback_store_credit_key(view.id, part.payment_id), part.amount)
        refund.parts.append(instead)
        if await _try_to_pay(view, instead, by_id) is not None:
            result = PayOutResult(
                paid=False, problem=f"{part.payment_id} refused the refund and store credit could not be issued either"
            )
            break
        result.notes.append(
            f"{part.payment_id} refused the refund ({failure.cause}); "
            f"{part.amount} {refund.currency} paid as store credit instead"
        )
    if with_claims:
        await _release(refund.parts, refused)
    # Whatever was paid is in the ledger, even when a later part failed.
    if with_ledger:
        await _record_ledger(record)
    return result


async def _release(parts: list[RefundPart], refused: set[str]) -> None:
    """Give back the tender claims of parts that refunded nothing: refused, or never tried.

    A part that failed otherwise (the provider never answered) stays claimed: it may have been paid.
    """
    unpaid = [
        part.idempotency_key
        for part in parts
        if part.payment_id != STORE_CREDIT and (part.status == "pending" or part.idempotency_key in refused)
    ]
    if unpaid:
        await store(act.RELEASE_TENDER_CLAIMS, act.ReleaseTenderClaims(idempotency_keys=unpaid))


def _store_credit_part(idempotency_key: str, amount: Decimal) -> RefundPart:
    return RefundPart(payment_id=STORE_CREDIT, amount=amount, idempotency_key=idempotency_key)


async def _try_to_pay(view: ReturnView, part: RefundPart, payments: dict[str, Payment]) -> ActivityError | None:
    try:
        await _pay_part(view, part, payments)
    except ActivityError as failure:
        part.status = "failed"
        return failure
    return None


async def _pay_part(view: ReturnView, part: RefundPart, payments: dict[str, Payment]) -> None:
    currency = view.refund.currency
    if part.payment_id == STORE_CREDIT:
        issued = await partner(
            act.ISSUE_STORE_CREDIT,
            act.IssueStoreCredit(
                return_id=view.id,
                customer_id=view.customer_id,
                idempotency_key=part.idempotency_key,
                amount=part.amount,
                currency=currency,
            ),
        )
        part.provider_refund_id = issued.store_credit_id
    else:
        refunded = await partner(
            act.REFUND_PAYMENT,
            act.RefundPayment(
                return_id=view.id,
                idempotency_key=part.idempotency_key,
                payment_id=part.payment_id,
                amount=part.amount,
                currency=currency,
                provider_ref=payments[part.payment_id].provider_ref,
            ),
        )
        part.provider_refund_id = refunded.refund_id
    part.status = "succeeded"


def unpaid(view: ReturnView) -> Decimal:
    """What the return still owes: the refund less every part paid so far."""
    paid = sum((part.amount for part in view.refund.parts if part.status == "succeeded"), Decimal(0))
    return max(view.refund.amount - paid, Decimal(0))


async def pay_remainder_as_store_credit(record: ReturnRecord) -> PayOutResult:
    """A person chose store credit for what a failed refund did not pay (``refund_as_store_credit``)."""
    view = record.view
    part = _store_credit_part(keys.store_credit_instead_key(view.id), unpaid(view))
    view.refund.parts = [existing for existing in view.refund.parts if existing.idempotency_key != part.idempotency_key]
    view.refund.parts.append(part)
    failure = await _try_to_pay(view, part, {})
    await _record_ledger(record)
    if failure is not None:
        return PayOutResult(paid=False, problem=f"store credit could not be issued either: {failure.cause or failure}")
    return PayOutResult(paid=True, notes=[f"{part.amount} {view.refund.currency} paid as store credit instead"])


async def record_outside_refund(view: ReturnView, reference: str) -> PayOutResult:
    """A person paid the customer outside returnflow (``mark_refunded``): the ledger records it, with their
    reference, so reconciliation and the customer's money history stay complete."""
    amount = unpaid(view)
    await store(
        act.RECORD_MONEY,
        act.RecordMoney(
            return_id=view.id,
            order_id=view.order_id,
            movements=[
                MoneyMovement(
                    idempotency_key=keys.outside_refund_key(view.id),
                    kind="refund_outside",
                    amount=amount,
                    currency=view.refund.currency,
                    provider_ref=reference,
                )
            ],
        ),
    )
    return PayOutResult(paid=True, notes=[f"{amount} {view.refund.currency} paid outside returnflow ({reference})"])


async def _record_ledger(record: ReturnRecord) -> None:
    """What the return's money did so far, into the ledger: with the view's next save from shape 1 on."""
    view = record.view
    if shapes.at_least(1):
        record.record_money(ledger_movements(view))
        return
    await store(
        act.RECORD_MONEY,
        act.RecordMoney(return_id=view.id, order_id=view.order_id, movements=ledger_movements(view)),
    )
