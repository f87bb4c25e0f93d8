"""What a candidate policy would have decided for returns already recorded.

Each recorded return is judged twice with ``evaluate``: under the policy version
it actually ran with, and under the candidate, at the moment it was requested
and with the customer's risk as it was. Units claimed by other returns are not
replayed, so a line's returnable quantity is taken as it was ordered.
"""

from collections import Counter
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from domain.evaluation import Evaluation, evaluate
from domain.money import Amount
from domain.orders import Order
from domain.policy import Policy
from domain.returns import ReturnRequest
from domain.risk import RiskAssessment


class RecordedReturn(BaseModel):
    return_id: str
    order: Order
    request: ReturnRequest
    requested_at: datetime
    risk: RiskAssessment
    policy_version: int
    policy: Policy


class Judgement(BaseModel):
    outcome: str
    eligible: bool
    refund_estimate: Amount
    fees: Amount
    rules: list[str]


class ChangedReturn(BaseModel):
    return_id: str
    order_id: str
    before: Judgement
    after: Judgement


class CurrencyTotals(BaseModel):
    refunds_before: Amount = Decimal(0)
    refunds_after: Amount = Decimal(0)
    fees_before: Amount = Decimal(0)
    fees_after: Amount = Decimal(0)


class SimulationReport(BaseModel):
    returns_considered: int
    decisions_changed: int
    transitions: dict[str, int] = Field(description='e.g. {"auto_approved→needs_review": 3}')
    totals: dict[str, CurrencyTotals] = Field(description="Per currency: refunds and fees, before and after.")
    sample: list[ChangedReturn]


def _judgement(evaluation: Evaluation) -> Judgement:
    return Judgement(
        outcome=evaluation.outcome,
        eligible=evaluation.eligible,
        refund_estimate=evaluation.refund_estimate if evaluation.eligible else Decimal(0),
        fees=sum((f.amount for f in evaluation.fees), Decimal(0)) if evaluation.eligible else Decimal(0),
        rules=evaluation.rules,
    )


def _label(judgement: Judgement) -> str:
    return judgement.outcome if judgement.eligible else "ineligible"


def simulate(recorded: list[RecordedReturn], candidate: Policy, sample_size: int = 10) -> SimulationReport:
    transitions: Counter[str] = Counter()
    totals: dict[str, CurrencyTotals] = {}
    sample: list[ChangedReturn] = []
    for item in recorded:
        before = _judgement(evaluate(item.order, item.request, item.policy, item.requested_at, risk=item.risk))
        after = _judgement(evaluate(item.order, item.request, candidate, item.requested_at, risk=item.risk))
        sums = totals.setdefault(item.order.currency, CurrencyTotals())
        sums.refunds_before += before.refund_estimate
        sums.refunds_after += after.refund_estimate
        sums.fees_before += before.fees
        sums.fees_after += after.fees
        if _label(before) != _label(after) or before.refund_estimate != after.refund_estimate:
            transitions[f"{_label(before)}→{_label(after)}"] += 1
            if len(sample) < sample_size:
                sample.append(
                    ChangedReturn(return_id=item.return_id, order_id=item.order.order_id, before=before, after=after)
                )
    return SimulationReport(
        returns_considered=len(recorded),
        decisions_changed=sum(transitions.values()),
        transitions=dict(transitions),
        totals=totals,
        sample=sample,
    )
