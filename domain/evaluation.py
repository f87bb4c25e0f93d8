"""The pure function that judges a return request against the policy.

``evaluate`` is the only place a return is judged. Preview and create call it in
the API with the same inputs (order, request, policy, risk, the time of the
request), and the create's evaluation travels in the workflow's start input, so
they always agree (docs/adr/0003-where-the-policy-is-evaluated.md).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from domain.exchanges import Variant, quote_exchange
from domain.logistics_fit import MethodFit
from domain.money import Amount, percent_of, quantize
from domain.orders import Order, order_reference_time, returnable_quantity
from domain.policy import CategoryRule, Policy
from domain.refund_items import completes_everything_shipped, items_total, original_shipping_items, tax_share
from domain.returns import (
    Exchange,
    Fee,
    Outcome,
    Reason,
    RefundItem,
    RequestedLine,
    ReturnRequest,
    SuggestedReason,
)
from domain.risk import Level, RiskAssessment

# Refusals staff may override (with a reason). Final sale never bends (the contract says never
# returnable), nor do unknown lines or units beyond what was bought.
OVERRIDABLE = frozenset({"window_expired", "reason_not_allowed", "evidence_required"})


class LineEvaluation(BaseModel):
    line_id: str
    eligible: bool
    code: str | None = None
    message: str | None = None
    liability: Literal["merchant", "customer"] = "merchant"
    amount: Amount = Decimal(0)
    tax: Amount = Field(Decimal(0), description="The returned units' share of the line's tax, refunded with them.")
    fees: list[Fee] = Field(default_factory=list)
    refund_estimate: Amount = Decimal(0)
    suggested_reason: SuggestedReason | None = Field(
        None, description="The reason the customer's comment points to, when it is not the one chosen."
    )


class OverriddenRule(BaseModel):
    """A refusal staff overrode for one line (written to the audit trail with the override's reason)."""

    line_id: str
    code: str
    message: str


class Evaluation(BaseModel):
    """The policy's answer for one request: per line, and for the whole return."""

    eligible: bool
    outcome: Outcome
    rules: list[str]
    overridden: list[OverriddenRule] = Field(default_factory=list)
    risk: Level
    risk_reasons: list[str] = Field(default_factory=list)
    lines: list[LineEvaluation]
    currency: str
    fees: list[Fee]
    refund_estimate: Amount
    refund_items: list[RefundItem] = Field(
        default_factory=list, description="What the refund estimate is made of, before fees: goods, tax, shipping."
    )
    store_credit_estimate: Amount
    deposit: Amount = Decimal(0)
    keep_item: bool
    ships_back: bool = Field(description="Whether anything must travel back (else refund without logistics).")
    type: Literal["return", "exchange", "refund_only", "cancellation"] = "return"
    resolutions: list[str]
    logistics_methods: list[str] = Field(description="The methods offered, the best fit first (logistics_fit).")
    logistics_fit: list[MethodFit] = Field(
        default_factory=list, description="The offered methods in order of fit, each with why (domain/logistics_fit)."
    )
    exchange: Exchange | None = Field(
        None, description="An exchange's replacements at the catalog's prices and the price difference."
    )
    exchange_errors: list[dict[str, str]] = Field(
        default_factory=list, description="Replacements the catalog refuses (unknown_sku, exchange_not_same_product…)."
    )


class Refused(Exception):
    """A line that can never be returned as asked (no override possible)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class _LineVerdict:
    evaluation: LineEvaluation
    objections: list[tuple[str, str]]  # (code, message) that staff may override
    wants_evidence_review: bool


def _window(policy: Policy, category: CategoryRule | None, customer_liable: bool) -> tuple[timedelta, str]:
    """The return window for a line; a customer's own reason never gets more than the no-reason window."""
    if category and category.window_hours is not None:
        hours = category.window_hours
        if customer_liable:
            hours = min(hours, policy.no_reason_window_days * 24)
        return timedelta(hours=hours), f"{hours}-hour"
    days = category.window_days if category and category.window_days is not None else policy.window_days
    if customer_liable:
        days = min(days, policy.no_reason_window_days)
    return timedelta(days=days), f"{days}-day"


def _judge_line(
    order: Order, wanted: RequestedLine, policy: Policy, now: datetime, already_returned: dict[str, int]
) -> _LineVerdict:
    line = order.line(wanted.line_id)
    if line is None:
        raise Refused("unknown_line", f"order {order.order_id} has no line {wanted.line_id}")
    returnable = returnable_quantity(line, already_returned)
    if wanted.quantity > returnable:
        raise Refused("quantity_exceeds_returnable", f"only {returnable} of line {line.line_id} can still be returned")
    category = policy.categories.get(line.category)
    customer_liable = wanted.reason in policy.customer_reasons
    objections: list[tuple[str, str]] = []
    if line.final_sale:
        objections.append(("final_sale", f"line {line.line_id} was a final sale"))
    if category and category.reasons is not None and wanted.reason not in category.reasons:
        allowed = ", ".join(r.value for r in category.reasons)
        objections.append(("reason_not_allowed", f"{line.category} items can be returned only for: {allowed}"))
    window, window_words = _window(policy, category, customer_liable)
    if now > order_reference_time(order) + window:
        objections.append(("window_expired", f"the {window_words} return window for line {line.line_id} has passed"))
    if category and category.evidence_required and not wanted.evidence:
        objections.append(("evidence_required", f"{line.category} returns need photos or other evidence"))
    amount = quantize(line.unit_price * wanted.quantity, order.currency)
    restocking = (
        category.restocking_fee_percent
        if category and category.restocking_fee_percent is not None
        else policy.restocking_fee_percent
    )
    fees = []
    if customer_liable and restocking > 0:
        fees.append(Fee(kind="restocking", amount=percent_of(amount, restocking, order.currency)))
    return _LineVerdict(
        LineEvaluation(
            line_id=line.line_id,
            eligible=True,
            liability="customer" if customer_liable else "merchant",
            amount=amount,
            tax=tax_share(line, already_returned.get(line.line_id, 0), wanted.quantity, order.currency),
            fees=fees,
            refund_estimate=amount - sum((f.amount for f in fees), Decimal(0)),
        ),
        objections,
        wants_evidence_review=amount > policy.evidence_required_over_amount and not wanted.evidence,
    )


def _sum(fees: list[Fee]) -> Decimal:
    return sum((f.amount for f in fees), Decimal(0))


def evaluate(
    order: Order,
    request: ReturnRequest,
    policy: Policy,
    now: datetime,
    *,
    risk: RiskAssessment | None = None,
    already_returned: dict[str, int] | None = None,
    catalog: dict[str, Variant] | None = None,
    suggestions: dict[str, SuggestedReason] | None = None,
) -> Evaluation:
    """Judge ``request`` against ``policy`` at ``now``; pure and deterministic.

    ``already_returned`` maps line ids to units claimed by earlier returns;
    ``risk`` is the customer's assessment (low when not given); ``catalog`` the
    variants looked up for an exchange (sku → variant; None: not looked up); ``suggestions`` the reasons
    the lines' comments point to instead of the chosen ones (line id → suggestion), shown on the lines.
    """
    risk = risk or RiskAssessment()
    lines: list[LineEvaluation] = []
    rules: list[str] = []
    overridden: list[OverriddenRule] = []
    evidence_review = False
    for wanted in request.lines:
        try:
            verdict = _judge_line(order, wanted, policy, now, already_returned or {})
        except Refused as refusal:
            lines.append(
                LineEvaluation(line_id=wanted.line_id, eligible=False, code=refusal.code, message=refusal.message)
            )
            rules.append(refusal.message)
            continue
        judged = verdict.evaluation
        firm = [
            (code, message) for code, message in verdict.objections if not request.override or code not in OVERRIDABLE
        ]
        if firm:
            judged.eligible, (judged.code, judged.message) = False, firm[0]
            judged.fees, judged.refund_estimate, judged.tax = [], Decimal(0), Decimal(0)
            rules += [message for _, message in firm]
        else:
            overridden += [
                OverriddenRule(line_id=judged.line_id, code=code, message=message)
                for code, message in verdict.objections
            ]
            rules += [
                f"{message} (overridden by staff: {request.override_reason})" for _, message in verdict.objections
            ]
        evidence_review = evidence_review or verdict.wants_evidence_review
        judged.suggested_reason = (suggestions or {}).get(judged.line_id)
        lines.append(judged)
    eligible = all(line.eligible for line in lines)
    returned = [line for line in lines if line.eligible]
    total = sum((line.amount for line in returned), Decimal(0))
    fees = [fee for line in returned for fee in line.fees]
    # Nothing has shipped yet: the order is cancelled, not returned, so nothing is charged.
    cancellation = eligible and order.fulfillment_status == "unfulfilled"
    # Below the keep-item amount nothing travels back, so there is no return shipping to pay for.
    keep_item = eligible and total < policy.keep_item_max_amount
    if cancellation:
        fees = []
        for line in returned:
            line.fees, line.refund_estimate = [], line.amount
        rules.append("the order has not shipped: it is cancelled and refunded in full")
    elif not keep_item and any(line.liability == "customer" for line in returned) and policy.return_shipping_fee > 0:
        shipping = min(policy.return_shipping_fee, total - _sum(fees))
        fees.append(Fee(kind="return_shipping", amount=shipping))
        rules.append(f"the customer pays {shipping} {order.currency} return shipping (the reason is the customer's)")
    items = _refund_items(order, request, returned, policy, already_returned or {}, eligible)
    if any(item.kind == "shipping" for item in items):
        rules.append("the original shipping is refunded: the merchant's return of everything that was shipped")
    # Fees come off the goods only; the tax and shipping they paid for go back in full.
    refund = max(total - _sum(fees), Decimal(0)) + items_total([item for item in items if item.kind != "goods"])
    ships_back = not keep_item and not cancellation and any(_travels_back(order, wanted) for wanted in request.lines)
    deposit = Decimal(0)
    review_reasons = []
    if total > policy.auto_approve_max_amount:
        review_reasons.append(
            f"worth {total} {order.currency}, above the {policy.auto_approve_max_amount} auto-approval limit"
        )
    if evidence_review:
        review_reasons.append(
            f"no evidence for items worth more than {policy.evidence_required_over_amount} "
            f"{order.currency}: a reviewer decides"
        )
    if risk.level in policy.review_risk_levels:
        if risk.serial_returner and policy.risk.serial_returner_action == "deposit":
            deposit = percent_of(refund, policy.risk.deposit_percent, order.currency)
            rules.append(f"serial returner: {deposit} {order.currency} of the refund is held until inspection")
        else:
            review_reasons.append(f"customer risk is {risk.level}: " + "; ".join(risk.reasons))
    review_reasons += _liability_moving_suggestions(request, lines, policy)
    if risk.evidence_findings:
        review_reasons.append("the photos need a reviewer's eye: " + "; ".join(risk.evidence_findings))
    outcome: Outcome
    if not eligible:
        outcome = "rejected"
    elif request.override:
        outcome = "approved"
        rules.append(f"approved by staff: {request.override_reason}")
    elif review_reasons:
        outcome = "needs_review"
        rules += review_reasons
    else:
        outcome = "auto_approved"
        rules.append(f"within policy and at most the {policy.auto_approve_max_amount} auto-approval limit")
    if keep_item:
        rules.append(f"worth less than {policy.keep_item_max_amount} {order.currency}: the customer keeps the item")
    exchange, exchange_errors = (
        quote_exchange(order, request, policy, catalog)
        if catalog is not None and request.resolution == "exchange"
        else (None, [])
    )
    return Evaluation(
        exchange=exchange,
        exchange_errors=exchange_errors,
        eligible=eligible,
        outcome=outcome,
        rules=rules,
        overridden=overridden,
        risk=risk.overall_level,
        risk_reasons=risk.reasons + risk.evidence_findings,
        lines=lines,
        currency=order.currency,
        fees=fees,
        refund_estimate=refund,
        refund_items=items,
        store_credit_estimate=refund + percent_of(refund, policy.store_credit_bonus_percent, order.currency),
        deposit=deposit,
        keep_item=keep_item,
        ships_back=ships_back,
        type=(
            "cancellation"
            if cancellation
            else "refund_only"
            if not ships_back
            else "exchange"
            if request.resolution == "exchange"
            else "return"
        ),
        # An exchange swaps an item that comes back for another variant at the same price.
        resolutions=["refund", "store_credit", "exchange"] if ships_back else ["refund", "store_credit"],
        logistics_methods=["pickup", "drop_off", "mail"] if ships_back else ["none"],
    )


def _liability_moving_suggestions(request: ReturnRequest, lines: list[LineEvaluation], policy: Policy) -> list[str]:
    """A comment that points to a reason the merchant answers for, on a line the customer answers for: the
    reason is not switched on the model's word; a reviewer reads the comment and decides."""
    chosen = {wanted.line_id: wanted.reason for wanted in request.lines}
    return [
        f"line {line.line_id}: the comment reads as {line.suggested_reason.reason.value} "
        f"(score {line.suggested_reason.score:.2f}), not {chosen[line.line_id].value}; "
        "that reason would make the merchant liable"
        for line in lines
        if line.eligible
        and line.suggested_reason is not None
        and chosen[line.line_id] in policy.customer_reasons
        and line.suggested_reason.reason not in policy.customer_reasons
    ]


def _refund_items(
    order: Order,
    request: ReturnRequest,
    returned: list[LineEvaluation],
    policy: Policy,
    already_returned: dict[str, int],
    eligible: bool,
) -> list[RefundItem]:
    """Per returned line its goods and tax; the original shipping and its tax when the policy gives them back.

    Shipping goes back only with ``merchant_liable_full_return``, for an eligible return whose every line is
    the merchant's responsibility and that brings back every unit of every physical line, earlier returns
    counted (of the returns holding an order's units at one time, at most one can qualify).
    """
    items: list[RefundItem] = []
    for line in returned:
        items.append(RefundItem(kind="goods", line_id=line.line_id, amount=line.amount))
        if line.tax > 0:
            items.append(RefundItem(kind="tax", line_id=line.line_id, amount=line.tax))
    returning = {wanted.line_id: wanted.quantity for wanted in request.lines}
    if (
        policy.refund_original_shipping == "merchant_liable_full_return"
        and eligible
        and all(line.liability == "merchant" for line in returned)
        and completes_everything_shipped(order, returning, already_returned)
    ):
        items += original_shipping_items(order)
    return items


# The customer does not have these items, so there is nothing to send back.
CLAIMS_WITHOUT_ITEM = frozenset({Reason.NOT_RECEIVED, Reason.MISSING_ITEM})


def _travels_back(order: Order, wanted: RequestedLine) -> bool:
    line = order.line(wanted.line_id)
    return line is not None and line.kind == "physical" and wanted.reason not in CLAIMS_WITHOUT_ITEM


def logistics_problem(evaluation: Evaluation, request: ReturnRequest) -> str | None:
    """Why the requested logistics method cannot be used, or None when it can.

    When nothing travels back the method is not used, so any method is accepted.
    """
    method = request.logistics.method
    if not evaluation.ships_back:
        return None
    if method not in evaluation.logistics_methods:
        offered = ", ".join(evaluation.logistics_methods)
        return f"logistics method {method!r} is not offered for this return (offered: {offered})"
    if method == "pickup" and request.logistics.pickup_slot is None:
        return "a pickup needs a pickup_slot"
    return None


def refusal_errors(evaluation: Evaluation, request: ReturnRequest) -> list[dict[str, str]]:
    """The contract's ``errors[]`` for a request the policy refuses; empty when it may go ahead."""
    errors = [
        {"line_id": line.line_id, "code": line.code or "ineligible", "message": line.message or ""}
        for line in evaluation.lines
        if not line.eligible
    ]
    problem = logistics_problem(evaluation, request)
    if problem:
        errors.append({"field": "logistics.method", "code": "logistics_not_offered", "message": problem})
    errors += _exchange_problems(request)
    errors += evaluation.exchange_errors
    if request.resolution not in evaluation.resolutions:
        errors.append(
            {
                "field": "resolution",
                "code": "resolution_not_offered",
                "message": f"{request.resolution!r} is not offered yet (offered: {', '.join(evaluation.resolutions)})",
            }
        )
    return errors


def _exchange_problems(request: ReturnRequest) -> list[dict[str, str]]:
    """An exchange names one replacement per returned line; without one it is not an exchange."""
    if request.resolution != "exchange":
        return []
    returned = {line.line_id for line in request.lines}
    replaced = [item.line_id for item in request.exchange_items]
    errors = [
        {"line_id": line_id, "code": "exchange_item_missing", "message": f"name a replacement for {line_id}"}
        for line_id in sorted(returned - set(replaced))
    ]
    errors += [
        {"line_id": line_id, "code": "unknown_line", "message": f"{line_id} is not being returned"}
        for line_id in sorted(set(replaced) - returned)
    ]
    if len(replaced) != len(set(replaced)):
        errors.append({"field": "exchange_items", "code": "duplicate_line", "message": "one replacement per line"})
    return errors
