"""How a refund is split across the tenders an order was paid with."""

from decimal import Decimal

from domain.orders import Payment

# Money goes back to the tenders the customer can spend anywhere first: card and
# wallet, then gift card, then store credit. Each tender gets at most what it paid.
TENDER_ORDER = ("card", "wallet", "gift_card", "store_credit")


def allocate_refund(
    amount: Decimal, payments: list[Payment], already_refunded: dict[str, Decimal] | None = None
) -> list[tuple[Payment, Decimal]]:
    """Split ``amount`` over ``payments``; the parts sum to ``amount`` unless the payments are short.

    ``already_refunded`` (payment id → amount) is what earlier returns of the order took back:
    no tender ever gets back more than it paid, across all the order's returns.
    """
    parts: list[tuple[Payment, Decimal]] = []
    left = amount
    taken = already_refunded or {}
    for payment in sorted(payments, key=lambda p: TENDER_ORDER.index(p.method)):
        if left <= 0:
            break
        share = min(left, payment.amount - taken.get(payment.payment_id, Decimal(0)))
        if share > 0:
            parts.append((payment, share))
            left -= share
    return parts
