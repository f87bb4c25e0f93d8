"""What inspection decides: which lines were graded, what comes off the refund, whether the deposit is kept."""

from dataclasses import dataclass
from decimal import Decimal

from domain.money import percent_of, quantize
from domain.policy import Policy
from domain.returns import Deduction, Inspection, Refund, ReturnLine

# Conditions in which an item counts as returned as it was sold (a deposit is released).
AS_SOLD = frozenset({None, "as_new", "opened"})


def inspection_errors(lines: list[ReturnLine], inspection: Inspection) -> list[dict[str, str]]:
    """The contract's ``errors[]`` for an inspection that does not grade every line exactly once."""
    expected = {line.line_id for line in lines}
    given = [line.line_id for line in inspection.lines]
    twice = sorted({line_id for line_id in given if given.count(line_id) > 1 and line_id in expected})
    return [
        *[{"line_id": line_id, "code": "unknown_line"} for line_id in given if line_id not in expected],
        *[{"line_id": line_id, "code": "line_not_inspected"} for line_id in expected if line_id not in given],
        *[{"line_id": line_id, "code": "line_inspected_twice"} for line_id in twice],
    ]


def apply_inspection(lines: list[ReturnLine], inspection: Inspection) -> None:
    """Record each line's grade on the return (``inspection`` has passed ``inspection_errors``)."""
    by_line = {line.line_id: line for line in inspection.lines}
    for line in lines:
        line.condition, line.disposition = by_line[line.line_id].condition, by_line[line.line_id].disposition


def inspection_deductions(
    lines: list[ReturnLine], policy: Policy, currency: str, tax: dict[str, Decimal] | None = None
) -> tuple[list[Deduction], list[str]]:
    """What inspection takes off the refund, and why.

    A line going back to the customer (``return_to_customer``) is not refunded. A
    customer-liable line graded worse than sold loses the policy's percentage for
    that condition; a merchant-liable one (it was defective) never does. ``tax``
    (line id → the tax the refund gives back for it) goes with its goods: all of it
    for a line not refunded, the same percentage for a graded one.
    """
    deductions: list[Deduction] = []
    notes: list[str] = []
    for line in lines:
        worth = quantize(line.unit_price * line.quantity, currency) + (tax or {}).get(line.line_id, Decimal(0))
        if line.disposition == "return_to_customer":
            deductions.append(Deduction(line_id=line.line_id, kind="returned_to_customer", amount=worth))
            notes.append(f"line {line.line_id} goes back to the customer: not refunded")
            continue
        percent = policy.condition_deduction_percent.get(line.condition) if line.condition else None
        if line.liability == "customer" and percent:
            deductions.append(
                Deduction(line_id=line.line_id, kind="condition", amount=percent_of(worth, percent, currency))
            )
            notes.append(f"line {line.line_id} came back {line.condition}: {percent}% deducted")
    return deductions, notes


@dataclass(frozen=True)
class Settlement:
    refund: Refund
    note: str


def settle_inspection(lines: list[ReturnLine], refund: Refund, policy: Policy) -> Settlement:
    """The refund after inspection: graded deductions taken off, and a held deposit released when every
    item came back as sold, kept otherwise. The refund never goes below zero."""
    settled = refund.model_copy(deep=True)
    tax = {item.line_id: item.amount for item in settled.items if item.kind == "tax" and item.line_id}
    deductions, notes = inspection_deductions(lines, policy, settled.currency, tax)
    settled.deductions += deductions
    kept = sum((deduction.amount for deduction in deductions), Decimal(0))
    as_sold = all(line.condition in AS_SOLD for line in lines)
    for hold in settled.holds:
        if hold.status != "held":
            continue
        hold.status = "released" if as_sold else "kept"
        if not as_sold:
            kept += hold.amount
            notes.append(f"deposit of {hold.amount} {settled.currency} kept: items not as sold")
    settled.amount = max(settled.amount - kept, quantize(Decimal(0), settled.currency))
    return Settlement(refund=settled, note="; ".join(notes))
