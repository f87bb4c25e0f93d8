"""What a refund gives back beyond the goods: no return shipping when the item is kept."""

from decimal import Decimal

import pytest

from tests.policy_cases import fee_total, judge_one, make_policy

KEEP_10 = make_policy(keep_item_max_amount="10.00")


@pytest.mark.parametrize("reason", ["changed_mind", "size_fit", "better_price", "other"])
def test_a_kept_item_is_charged_no_return_shipping_even_when_the_reason_is_the_customers(reason):
    evaluation = judge_one(unit_price="9.99", reason=reason, policy=KEEP_10)

    assert evaluation.keep_item and not evaluation.ships_back
    assert fee_total(evaluation, "return_shipping") == 0
    assert evaluation.refund_estimate == Decimal("9.99")
    assert not any("return shipping" in rule for rule in evaluation.rules)


def test_an_item_that_travels_back_still_pays_return_shipping_for_a_customer_reason():
    evaluation = judge_one(unit_price="10.00", reason="changed_mind", policy=KEEP_10)

    assert not evaluation.keep_item and evaluation.ships_back
    assert fee_total(evaluation, "return_shipping") == Decimal("5.99")
    assert evaluation.refund_estimate == Decimal("4.01")


def test_a_kept_item_still_pays_the_restocking_fee_the_policy_asks():
    policy = make_policy(keep_item_max_amount="10.00", restocking_fee_percent="10")

    evaluation = judge_one(unit_price="9.00", reason="changed_mind", policy=policy)

    assert evaluation.keep_item
    assert [(fee.kind, fee.amount) for fee in evaluation.fees] == [("restocking", Decimal("0.90"))]
    assert evaluation.refund_estimate == Decimal("8.10")
