"""The first view of a return: what the policy decided, laid out as the Return the contract shows."""

from datetime import datetime
from decimal import Decimal

from domain.evaluation import Evaluation
from domain.exchanges import price_difference_items
from domain.money import quantize
from domain.orders import Order
from domain.returns import (
    Decision,
    Hold,
    Logistics,
    Refund,
    ReturnLine,
    ReturnRequest,
    ReturnView,
    Status,
    TimelineEntry,
)

APPROVING_OUTCOMES = frozenset({"auto_approved", "approved"})


def books_first(evaluation: Evaluation) -> bool:
    """A return approved at once whose first step is booking its parcel: it opens with the booked view."""
    return evaluation.outcome != "needs_review" and evaluation.type == "return" and evaluation.ships_back


def first_waiting_status(evaluation: Evaluation) -> Status:
    """Where a return waits at the end of its workflow's first task when nothing goes wrong: under review,
    awaiting its parcel (booked in that task), or approved (its next step follows without a wait)."""
    if evaluation.outcome == "needs_review":
        return Status.UNDER_REVIEW
    return Status.AWAITING_SHIPMENT if books_first(evaluation) else Status.APPROVED


def open_view(
    return_id: str,
    order: Order,
    request: ReturnRequest,
    evaluation: Evaluation,
    policy_version: int,
    requested_at: datetime,
    now: datetime,
) -> ReturnView:
    """The return as it starts: ``approved`` when the policy approved it, else ``requested`` (a review follows).

    The refund starts at the policy's estimate: store credit with its bonus when
    asked for, nothing for an exchange (the replacement settles it), and a deposit
    held back when the policy asks one of a serial returner.
    """
    lines = []
    for wanted, judged in zip(request.lines, evaluation.lines, strict=True):
        ordered = order.line(wanted.line_id)
        assert ordered is not None, "an eligible evaluation only has lines of the order"
        lines.append(
            ReturnLine(
                line_id=wanted.line_id,
                quantity=wanted.quantity,
                reason=wanted.reason,
                liability=judged.liability,
                unit_price=ordered.unit_price,
                sku=ordered.sku,
                suggested_reason=judged.suggested_reason,
            )
        )
    approved = evaluation.outcome in APPROVING_OUTCOMES
    timeline = [TimelineEntry(status=Status.REQUESTED, at=requested_at, note="")]
    if approved:
        timeline.append(TimelineEntry(status=Status.APPROVED, at=now, note="; ".join(evaluation.rules)))
    exchange = evaluation.exchange if request.resolution == "exchange" else None
    # A cheaper replacement refunds the difference; without one an exchange refunds nothing.
    difference = price_difference_items(exchange) if exchange else []
    if difference:
        amount = difference[0].amount
    elif request.resolution == "exchange":
        amount = quantize(Decimal(0), order.currency)
    elif request.resolution == "store_credit":
        amount = evaluation.store_credit_estimate
    else:
        amount = evaluation.refund_estimate
    return ReturnView(
        id=return_id,
        order_id=order.order_id,
        customer_id=order.customer_id,
        type=evaluation.type,
        status=Status.APPROVED if approved else Status.REQUESTED,
        lines=lines,
        decision=Decision(
            outcome=evaluation.outcome,
            rules=evaluation.rules,
            risk=evaluation.risk,
            risk_reasons=evaluation.risk_reasons,
        ),
        logistics=Logistics(method=request.logistics.method if evaluation.ships_back else "none"),
        refund=Refund(
            method="store_credit" if request.resolution == "store_credit" else "original",
            amount=amount,
            currency=order.currency,
            # An exchange refunds nothing: the replacement settles it.
            items=difference if request.resolution == "exchange" else evaluation.refund_items,
            fees=[] if difference else evaluation.fees,
            holds=[Hold(amount=evaluation.deposit)] if evaluation.deposit else [],
        ),
        timeline=timeline,
        exchange=exchange.model_copy(deep=True) if exchange else None,
        policy_version=policy_version,
        created_at=requested_at,
        updated_at=now,
    )
