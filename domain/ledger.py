"""The money ledger's view of a return: what it moved, one row per movement, each with its idempotency key.

A row of money paid out (a refund to a tender, store credit) is one credit note; it lists what it pays
for (``items``: goods, tax, shipping, shipping tax, per line), so the ledger says how much tax and
shipping went back without a row that is not a movement of its own. Reconciliation still matches the
payout rows with the payment provider one for one by idempotency key.
"""

from collections import Counter
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from domain import idempotency_keys as keys
from domain.money import Amount
from domain.returns import Refund, RefundItem, ReturnView

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
    # What a payout row pays for; its items add up to its amount, except a store-credit bonus, which is no item.
    items: list[RefundItem] = Field(default_factory=list)


def ledger_movements(view: ReturnView) -> list[MoneyMovement]:
    """What the return moved, as ledger rows: money out (with a credit note each), fees and kept deposits."""
    refund = view.refund
    paid = [part for part in refund.parts if part.status == "succeeded"]
    itemized = split_items(net_items(refund), [part.amount for part in paid])
    movements = [
        MoneyMovement(
            idempotency_key=part.idempotency_key,
            kind="store_credit" if part.payment_id == STORE_CREDIT else "refund",
            amount=part.amount,
            currency=refund.currency,
            payment_id=None if part.payment_id == STORE_CREDIT else part.payment_id,
            provider_ref=part.provider_refund_id,
            credit_note=keys.credit_note_number(view.id, number),
            items=items,
        )
        for number, (part, items) in enumerate(zip(paid, itemized, strict=True), start=1)
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


# What the merchant keeps comes off the goods first, then tax, then shipping.
_KEPT_FROM = ("goods", "price_difference", "tax", "shipping", "shipping_tax")


def net_items(refund: Refund) -> list[RefundItem]:
    """``refund.items`` less what the merchant keeps: a deduction from its own line first, fees and a
    kept deposit from the goods of every line, in order. Only what is given back (positive) is itemized."""
    items = [item.model_copy() for item in refund.items if item.amount > 0]
    for deduction in refund.deductions:
        left = _take(items, deduction.amount, deduction.line_id)
        _take(items, left, None)
    kept = sum((fee.amount for fee in refund.fees), Decimal(0))
    kept += sum((hold.amount for hold in refund.holds if hold.status == "kept"), Decimal(0))
    _take(items, kept, None)
    return [item for item in items if item.amount > 0]


def _take(items: list[RefundItem], amount: Decimal, line_id: str | None) -> Decimal:
    """Take ``amount`` off ``items`` (of ``line_id`` only, when given); what could not be taken is returned."""
    for kind in _KEPT_FROM:
        for item in items:
            if amount <= 0:
                return Decimal(0)
            if item.kind == kind and (line_id is None or item.line_id == line_id):
                taken = min(item.amount, amount)
                item.amount -= taken
                amount -= taken
    return max(amount, Decimal(0))


def split_items(items: list[RefundItem], amounts: list[Decimal]) -> list[list[RefundItem]]:
    """The items each of ``amounts`` (the payouts, in order) pays for, an item split where a payout ends.

    What the payouts pay beyond the items (a store-credit bonus) is left unitemized.
    """
    queue = [item.model_copy() for item in items]
    split: list[list[RefundItem]] = []
    for amount in amounts:
        mine: list[RefundItem] = []
        while amount > 0 and queue:
            item = queue[0]
            taken = min(item.amount, amount)
            mine.append(item.model_copy(update={"amount": taken}))
            amount -= taken
            item.amount -= taken
            if item.amount <= 0:
                queue.pop(0)
        split.append(mine)
    return split
