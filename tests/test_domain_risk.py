"""Customer risk: levels, the reasons a reviewer reads, and how the policy reacts."""

from decimal import Decimal

import pytest

from domain.evaluation import evaluate
from domain.orders import Order
from domain.policy import DEFAULT_POLICY
from domain.returns import ReturnRequest
from domain.risk import CustomerHistory, RiskRules, assess
from tests.factories import NOW, order_body, return_body

RULES = RiskRules()


@pytest.mark.parametrize(
    ("history", "level"),
    [
        (CustomerHistory(), "low"),
        (CustomerHistory(orders=2, returns=2), "low"),  # too few orders to judge a rate
        (CustomerHistory(orders=10, returns=3), "medium"),
        (CustomerHistory(orders=10, returns=6), "medium"),
        (CustomerHistory(orders=10, returns=6, open_disputes=1), "high"),
        (CustomerHistory(orders=40, returns=10), "high"),  # serial returner
        (CustomerHistory(orders=10, returns=1, bad_inspections=1), "medium"),
        (CustomerHistory(orders=10, returns=2, bad_inspections=2), "high"),
    ],
)
def test_risk_levels_follow_the_customers_history(history: CustomerHistory, level: str) -> None:
    assessment = assess(history, RULES)
    assert assessment.level == level
    assert bool(assessment.reasons) == (level != "low"), "every warning sign is explained"


def test_reasons_are_written_for_a_reviewer() -> None:
    assessment = assess(CustomerHistory(orders=10, returns=7, bad_inspections=1), RULES)
    assert "returned 7 of 10 orders in 180 days" in assessment.reasons
    assert "1 returned items were not as described or missing" in assessment.reasons


def _judge(risk_history: CustomerHistory, **policy_changes):
    policy = DEFAULT_POLICY.model_copy(update=policy_changes)
    order = Order.model_validate({**order_body(), "order_id": "O1"})
    request = ReturnRequest.model_validate(return_body())
    return evaluate(order, request, policy, NOW, risk=assess(risk_history, policy.risk))


def test_high_risk_forces_review_with_its_reasons() -> None:
    evaluation = _judge(CustomerHistory(orders=40, returns=10))
    assert evaluation.outcome == "needs_review"
    assert evaluation.risk == "high" and evaluation.risk_reasons
    assert any(rule.startswith("customer risk is high") for rule in evaluation.rules)


def test_serial_returners_can_be_asked_for_a_deposit_instead() -> None:
    rules = RiskRules(serial_returner_action="deposit", deposit_percent=Decimal("20"))
    evaluation = _judge(CustomerHistory(orders=40, returns=10), risk=rules)
    assert evaluation.outcome == "auto_approved"
    assert evaluation.deposit == Decimal("4.00")  # 20% of 19.99, rounded half-up
    assert any("held until inspection" in rule for rule in evaluation.rules)


def test_medium_risk_is_not_reviewed_unless_the_policy_says_so() -> None:
    history = CustomerHistory(orders=10, returns=3)
    assert _judge(history).outcome == "auto_approved"
    assert _judge(history, review_risk_levels=["medium", "high"]).outcome == "needs_review"
