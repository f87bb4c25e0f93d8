"""An exchange whose replacement is out of stock becomes store credit or a refund, as the policy says."""

from decimal import Decimal

import pytest

from domain.evaluation import evaluate, refusal_errors
from domain.exchanges import Variant, out_of_stock_refund, price_difference_items
from domain.notifications import notification_data
from domain.opening import open_view
from domain.policy import DEFAULT_POLICY
from domain.returns import ExchangeItem, Fee
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


# ---- the catalog: same product, known sku, price difference ------------------------------------------------

CATALOG = {
    "SKU-L1": Variant(sku="SKU-L1", product_id="P-L1", price=Decimal("20.00")),
    "SKU-L1-BIG": Variant(sku="SKU-L1-BIG", product_id="P-L1", price=Decimal("20.00")),
    "SKU-L1-CHEAP": Variant(sku="SKU-L1-CHEAP", product_id="P-L1", price=Decimal("17.50")),
    "SKU-L1-DEAR": Variant(sku="SKU-L1-DEAR", product_id="P-L1", price=Decimal("23.00")),
    "OTHER": Variant(sku="OTHER", product_id="P-OTHER", price=Decimal("20.00")),
}


def judged_exchange(sku, policy=DEFAULT_POLICY, quantity=1, catalog=CATALOG, product_id=None):
    line = item()
    if product_id is not None:
        line["product_id"] = product_id
    order = make_order(line)
    request = make_request(want(quantity=quantity), resolution="exchange")
    request = request.model_copy(update={"exchange_items": [ExchangeItem(line_id="L1", sku=sku)]})
    return order, request, evaluate(order, request, policy, NOW, catalog=catalog)


def codes(evaluation, request):
    return [(e.get("line_id"), e["code"]) for e in refusal_errors(evaluation, request)]


def test_a_variant_of_the_same_product_at_the_same_price_is_an_even_exchange():
    _, request, evaluation = judged_exchange("SKU-L1-BIG")
    assert codes(evaluation, request) == []
    assert evaluation.exchange is not None and evaluation.exchange.price_difference == Decimal("0.00")
    assert [(i.sku, i.unit_price) for i in evaluation.exchange.items] == [("SKU-L1-BIG", Decimal("20.00"))]


@pytest.mark.parametrize(("sku", "code"), [("NOPE", "unknown_sku"), ("OTHER", "exchange_not_same_product")])
def test_an_unknown_sku_or_another_product_is_refused_on_the_line(sku, code):
    _, request, evaluation = judged_exchange(sku)
    assert codes(evaluation, request) == [("L1", code)]


def test_without_a_product_id_the_catalogs_product_of_the_returned_sku_counts():
    _, request, evaluation = judged_exchange("SKU-L1-BIG", product_id="")
    assert codes(evaluation, request) == []
    _, request, evaluation = judged_exchange("OTHER", product_id="")
    assert codes(evaluation, request) == [("L1", "exchange_not_same_product")]


def test_not_looked_up_means_not_checked():
    _, request, evaluation = judged_exchange("NOPE", catalog=None)
    assert evaluation.exchange is None and codes(evaluation, request) == []


@pytest.mark.parametrize(("sku", "difference"), [("SKU-L1-CHEAP", "-5.00"), ("SKU-L1-DEAR", "6.00")])
def test_the_price_difference_counts_every_unit(sku, difference):
    _, _, evaluation = judged_exchange(sku, quantity=2)
    assert evaluation.exchange is not None and evaluation.exchange.price_difference == Decimal(difference)


def test_a_price_difference_is_refused_when_the_policy_says_refuse():
    refuse = make_policy(exchange_price_difference="refuse")
    _, request, evaluation = judged_exchange("SKU-L1-DEAR", policy=refuse)
    assert codes(evaluation, request) == [("L1", "exchange_price_differs")]
    _, request, evaluation = judged_exchange("SKU-L1-BIG", policy=refuse)
    assert codes(evaluation, request) == []


def test_a_cheaper_replacement_opens_with_the_difference_as_its_refund():
    order, request, evaluation = judged_exchange("SKU-L1-CHEAP")
    view = open_view("ret_1", order, request, evaluation, 1, NOW, NOW)
    assert view.refund.amount == Decimal("2.50") and view.refund.fees == []
    assert [(i.kind, i.line_id, i.amount) for i in view.refund.items] == [("price_difference", "L1", Decimal("2.50"))]
    assert view.exchange == evaluation.exchange


def test_a_dearer_replacement_refunds_nothing():
    order, request, evaluation = judged_exchange("SKU-L1-DEAR")
    view = open_view("ret_1", order, request, evaluation, 1, NOW, NOW)
    assert view.refund.amount == Decimal("0.00") and view.refund.items == []
    assert price_difference_items(evaluation.exchange) == []


def test_the_customers_notification_says_what_became_of_an_instant_exchanges_hold():
    view = {"id": "ret_1", "status": "expired", "exchange": {"hold": {"amount": "19.99", "status": "captured"}}}
    assert notification_data(view)["exchange_hold"] == {"amount": "19.99", "status": "captured"}
    assert notification_data({"id": "ret_2", "status": "expired", "exchange": None})["exchange_hold"] is None
