"""An exchange whose replacement is out of stock becomes store credit or a refund, as the policy says."""

from decimal import Decimal

import pytest

from domain.evaluation import evaluate
from domain.exchanges import out_of_stock_refund
from domain.opening import open_view
from domain.policy import DEFAULT_POLICY
from domain.returns import Fee
from tests.policy_cases import NOW, item, make_order, make_policy, make_request, risk_of, want

STORE_CREDIT = make_policy(exchange_out_of_stock="store_credit")
REFUND = make_policy(exchange_out_of_stock="refund")


def exchange_evaluation(policy=DEFAULT_POLICY, reason="changed_mind", currency="USD", unit_price="20.00", risk=None):
    order = make_order(item(unit_price=unit_price), currency=currency)
    request = make_request(want(reason=reason), resolution="exchange")
    evaluation = evaluate(order, request, policy, NOW, risk=risk)
    assert evaluation.type == "exchange"
    return evaluation


def test_by_default_an_out_of_stock_exchange_becomes_store_credit():
    assert DEFAULT_POLICY.exchange_out_of_stock == "store_credit"
    evaluation = exchange_evaluation()
    refund = out_of_stock_refund(DEFAULT_POLICY, evaluation)
    assert (refund.method, refund.amount) == ("store_credit", evaluation.store_credit_estimate)


@pytest.mark.parametrize(
    ("policy", "method", "estimate"),
    [
        pytest.param(STORE_CREDIT, "store_credit", "store_credit_estimate", id="store-credit-policy"),
        pytest.param(REFUND, "original", "refund_estimate", id="refund-policy"),
    ],
)
@pytest.mark.parametrize("reason", ["changed_mind", "defective"])
def test_an_out_of_stock_exchange_pays_what_the_policy_says_instead(policy, method, estimate, reason):
    evaluation = exchange_evaluation(policy, reason)
    refund = out_of_stock_refund(policy, evaluation)
    assert refund.method == method
    assert refund.amount == getattr(evaluation, estimate)
    assert refund.currency == "USD"
    assert (refund.status, refund.parts, refund.deductions) == ("pending", [], [])


def test_store_credit_instead_of_an_exchange_carries_the_bonus():
    evaluation = exchange_evaluation(STORE_CREDIT, reason="defective")
    assert out_of_stock_refund(STORE_CREDIT, evaluation).amount == Decimal("22.00")
    assert out_of_stock_refund(REFUND, evaluation).amount == Decimal("20.00")


@pytest.mark.parametrize("policy", [STORE_CREDIT, REFUND], ids=["store-credit-policy", "refund-policy"])
def test_the_fees_of_the_exchange_are_kept_when_it_becomes_a_refund(policy):
    evaluation = exchange_evaluation(policy, reason="changed_mind")
    assert evaluation.fees == [Fee(kind="return_shipping", amount=Decimal("5.99"))]
    assert out_of_stock_refund(policy, evaluation).fees == evaluation.fees


def test_the_refund_instead_of_an_exchange_is_in_the_order_currency():
    evaluation = exchange_evaluation(REFUND, reason="defective", currency="JPY", unit_price="2000")
    refund = out_of_stock_refund(REFUND, evaluation)
    assert (refund.currency, str(refund.amount)) == ("JPY", "2000")


@pytest.mark.parametrize("policy", [STORE_CREDIT, REFUND], ids=["store-credit-policy", "refund-policy"])
def test_a_deposit_held_on_the_exchange_is_still_held_when_it_becomes_a_refund(policy):
    policy = policy.model_copy(update={"risk": policy.risk.model_copy(update={"serial_returner_action": "deposit"})})
    order = make_order(item())
    request = make_request(want(), resolution="exchange")
    evaluation = evaluate(order, request, policy, NOW, risk=risk_of("high", "12 returns", serial_returner=True))
    assert evaluation.deposit > 0
    opened = open_view("ret_1", order, request, evaluation, 1, NOW, NOW)
    assert opened.refund.holds  # the exchange holds the deposit
    assert out_of_stock_refund(policy, evaluation).holds == opened.refund.holds
