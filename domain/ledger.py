"""The money ledger's view of a return: what it moved, one row per movement, each with its idempotency key."""

from collections import Counter
from typing import Literal

from pydantic import BaseModel

from domain import idempotency_keys as keys
from domain.money import Amount
from domain.returns import ReturnView

# The pseudo-tender of a refund part paid as store credit.
STORE_CREDIT = "store_credit"


class MoneyMovement(BaseModel):
    """One ledger row. Positive: paid out to the customer; negative: kept by the merchant."""

    idempotency_key: str
    # refund_outside: paid by a person outside returnflow (``mark_refunded``), with their reference.
    kind: Literal["refund", "store_credit", "fee", "deposit_kept", "refund_outside"]
    amount: Amount
    currency: str
    payment_id: str | None = None
    provider_ref: str | None = None
    credit_note: str | None = None


def ledger_movements(view: ReturnView) -> list[MoneyMovement]:
    """What the return moved, as ledger rows: money out (with a credit note each), fees and kept deposits."""
    refund = view.refund
    paid = [part for part in refund.parts if part.status == "succeeded"]
    movements = [
        MoneyMovement(
            idempotency_key=part.idempotency_key,
            kind="store_credit" if part.payment_id == STORE_CREDIT else "refund",
            amount=part.amount,
            currency=refund.currency,
            payment_id=None if part.payment_id == STORE_CREDIT else part.payment_id,
            provider_ref=part.provider_refund_id,
            credit_note=keys.credit_note_number(view.id, number),
        )
        for number, part in enumerate(paid, start=1)
    ]
    seen: Counter[str] = Counter()
    for fee in refund.fees:
        seen[fee.kind] += 1
        if fee.amount:
            movements.append(
                MoneyMovement(
                    idempotency_key=keys.fee_key(view.id, fee.kind, seen[fee.kind]),
                    kind="fee",
                    amount=-fee.amount,
                    currency=refund.currency,
                )
            )
    movements += [
        MoneyMovement(
            idempotency_key=keys.deduction_key(view.id, deduction.line_id),
            kind="fee",
            amount=-deduction.amount,
            currency=refund.currency,
        )
        for deduction in refund.deductions
        if deduction.amount
    ]
    movements += [
        MoneyMovement(
            idempotency_key=keys.deposit_kept_key(view.id),
            kind="deposit_kept",
            amount=-hold.amount,
            currency=refund.currency,
        )
        for hold in refund.holds
        if hold.status == "kept"
    ]
    return movements
