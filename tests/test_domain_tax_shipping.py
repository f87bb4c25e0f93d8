"""What a refund gives back beyond the goods: the units' share of their line's tax, the original shipping,
each as an item of its own, in the Return, after inspection and in the ledger's credit notes; and no
return shipping when the item is kept."""

from decimal import ROUND_DOWN, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.evaluation import evaluate
from domain.inspection import apply_inspection, settle_inspection
from domain.ledger import ledger_movements
from domain.opening import open_view
from domain.orders import Shipping
from domain.policy import DEFAULT_POLICY
from domain.refund_items import items_total
from domain.refunds import allocate_refund
from domain.returns import Inspection, RefundPart
from tests.policy_cases import NOW, fee_total, item, judge_one, make_order, make_policy, make_request, want

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


# ---- tax: each return gets its units' share, and the shares add up to the line's tax ---------------------


def _order(*lines, shipping=None, payments=None):
    order = make_order(*lines, payments=payments)
    return order.model_copy(update={"shipping": Shipping.model_validate(shipping) if shipping else None})


def _taxed(line_id="L1", *, quantity=3, unit_price="20.00", tax="1.00", kind="physical"):
    return {**item(line_id, quantity=quantity, unit_price=unit_price), "tax": tax, "kind": kind}


def _items(evaluation):
    return [(i.kind, i.line_id, str(i.amount)) for i in evaluation.refund_items]


@pytest.mark.parametrize(
    ("split", "shares"),
    [
        pytest.param([1, 1, 1], ["0.33", "0.33", "0.34"], id="one-by-one"),
        pytest.param([2, 1], ["0.66", "0.34"], id="two-then-one"),
        pytest.param([1, 2], ["0.33", "0.67"], id="one-then-two"),
        pytest.param([3], ["1.00"], id="all-at-once"),
    ],
)
def test_partial_returns_share_the_line_tax_to_the_cent(split, shares):
    order = _order(_taxed(tax="1.00"))
    already, got = 0, []
    for quantity in split:
        evaluation = evaluate(
            order, make_request(want(quantity=quantity)), DEFAULT_POLICY, NOW, already_returned={"L1": already}
        )
        [line] = evaluation.lines
        got.append(str(line.tax))
        already += quantity

    assert got == shares
    assert sum(Decimal(share) for share in got) == Decimal("1.00")


def test_a_zero_currency_tax_is_shared_in_whole_units():
    order = make_order(_taxed(quantity=3, unit_price="1000", tax="100"), currency="JPY")

    shares = [
        evaluate(order, make_request(want()), DEFAULT_POLICY, NOW, already_returned={"L1": n}).lines[0].tax
        for n in range(3)
    ]

    assert shares == [Decimal(33), Decimal(33), Decimal(34)]


def test_the_refund_is_the_goods_less_fees_plus_the_tax_each_an_item_of_its_own():
    order = _order(
        _taxed("L1", quantity=2, unit_price="20.00", tax="3.20"), _taxed("L2", quantity=1, unit_price="10.00", tax="0")
    )
    request = make_request(want("L1", quantity=1, reason="changed_mind"), want("L2", reason="changed_mind"))

    evaluation = evaluate(order, request, DEFAULT_POLICY, NOW)

    assert _items(evaluation) == [("goods", "L1", "20.00"), ("tax", "L1", "1.60"), ("goods", "L2", "10.00")]
    assert fee_total(evaluation) == Decimal("5.99")  # the customer's reason: return shipping, off the goods
    assert evaluation.refund_estimate == Decimal("30.00") - Decimal("5.99") + Decimal("1.60")
    assert evaluation.lines[0].refund_estimate == Decimal("20.00")  # a line's estimate stays its goods less fees
    assert evaluation.store_credit_estimate == Decimal("25.61") + Decimal("2.56")


def test_a_refused_line_refunds_no_tax():
    order = _order({**_taxed(tax="6.00"), "final_sale": True})

    evaluation = evaluate(order, make_request(want()), DEFAULT_POLICY, NOW)

    assert not evaluation.eligible and evaluation.lines[0].tax == 0
    assert evaluation.refund_estimate == 0 and evaluation.refund_items == []


def test_a_cancelled_order_refunds_goods_and_tax_in_full():
    order = _order(_taxed(quantity=2, tax="2.00")).model_copy(update={"fulfillment_status": "unfulfilled"})

    evaluation = evaluate(order, make_request(want(quantity=2, reason="changed_mind")), DEFAULT_POLICY, NOW)

    assert evaluation.type == "cancellation" and evaluation.fees == []
    assert evaluation.refund_estimate == Decimal("42.00")


# ---- original shipping ----------------------------------------------------------------------------------

FULL_RETURN = make_policy(refund_original_shipping="merchant_liable_full_return")
SHIPPING = {"amount": "4.99", "tax": "0.40"}


def test_the_original_shipping_goes_back_with_a_merchant_liable_return_of_everything():
    order = _order(_taxed(quantity=2, tax="2.00"), shipping=SHIPPING)

    evaluation = evaluate(order, make_request(want(quantity=2)), FULL_RETURN, NOW)

    assert _items(evaluation) == [
        ("goods", "L1", "40.00"),
        ("tax", "L1", "2.00"),
        ("shipping", None, "4.99"),
        ("shipping_tax", None, "0.40"),
    ]
    assert evaluation.refund_estimate == Decimal("47.39")
    assert any("original shipping is refunded" in rule for rule in evaluation.rules)


@pytest.mark.parametrize(
    ("policy", "quantity", "reason", "already"),
    [
        pytest.param(DEFAULT_POLICY, 2, "defective", 0, id="policy-never"),
        pytest.param(FULL_RETURN, 1, "defective", 0, id="not-everything"),
        pytest.param(FULL_RETURN, 2, "changed_mind", 0, id="customer-liable"),
        pytest.param(FULL_RETURN, 1, "changed_mind", 1, id="customer-liable-last-unit"),
    ],
)
def test_otherwise_the_original_shipping_stays_with_the_merchant(policy, quantity, reason, already):
    order = _order(_taxed(quantity=2, tax="2.00"), shipping=SHIPPING)

    evaluation = evaluate(
        order, make_request(want(quantity=quantity, reason=reason)), policy, NOW, already_returned={"L1": already}
    )

    assert not [i for i in evaluation.refund_items if i.kind in ("shipping", "shipping_tax")]


def test_the_return_that_completes_earlier_returns_gets_the_shipping_once():
    order = _order(_taxed("L1", quantity=2, tax="2.00"), _taxed("L2", quantity=1, tax="0.50"), shipping=SHIPPING)

    first = evaluate(order, make_request(want("L1", quantity=1)), FULL_RETURN, NOW)
    last = evaluate(
        order, make_request(want("L1", quantity=1), want("L2")), FULL_RETURN, NOW, already_returned={"L1": 1}
    )

    assert not [i for i in first.refund_items if i.kind == "shipping"]
    assert [(i.kind, str(i.amount)) for i in last.refund_items if i.kind.startswith("shipping")] == [
        ("shipping", "4.99"),
        ("shipping_tax", "0.40"),
    ]


def test_virtual_lines_need_not_come_back_for_the_shipping_to_be_refunded():
    order = _order(_taxed("L1", quantity=1), _taxed("V1", quantity=1, kind="virtual"), shipping=SHIPPING)

    evaluation = evaluate(order, make_request(want("L1")), FULL_RETURN, NOW)

    assert "shipping" in [i.kind for i in evaluation.refund_items]


def test_a_later_return_of_virtual_lines_only_gets_no_shipping_a_second_time():
    order = _order(_taxed("L1", quantity=1), _taxed("V1", quantity=1, kind="virtual"), shipping=SHIPPING)

    evaluation = evaluate(order, make_request(want("V1")), FULL_RETURN, NOW, already_returned={"L1": 1})

    assert [i.kind for i in evaluation.refund_items] == ["goods", "tax"]


def test_an_order_without_shipping_refunds_no_shipping_item():
    order = _order(_taxed(quantity=1), shipping={"amount": "0", "tax": "0"})

    evaluation = evaluate(order, make_request(want()), FULL_RETURN, NOW)

    assert [i.kind for i in evaluation.refund_items] == ["goods", "tax"]


# ---- the Return, inspection and the ledger --------------------------------------------------------------


def _view(order, request, policy=DEFAULT_POLICY, already=None):
    evaluation = evaluate(order, request, policy, NOW, already_returned=already or {})
    return open_view("ret_1", order, request, evaluation, 1, NOW, NOW)


def test_the_return_lists_its_refund_items_and_an_exchange_none():
    order = _order(_taxed(quantity=2, tax="2.00"))

    refund = _view(order, make_request(want())).refund
    exchange = _view(order, make_request(want(reason="size_fit"), resolution="exchange")).refund

    assert [(i.kind, str(i.amount)) for i in refund.items] == [("goods", "20.00"), ("tax", "1.00")]
    assert refund.amount == Decimal("21.00")
    assert exchange.items == [] and exchange.amount == 0
    dumped = refund.model_dump(mode="json")["items"]
    assert dumped[1] == {"kind": "tax", "line_id": "L1", "amount": "1.00"}


def test_a_line_that_goes_back_to_the_customer_refunds_neither_goods_nor_tax():
    order = _order(_taxed("L1", quantity=1, tax="1.60"), _taxed("L2", quantity=1, unit_price="10.00", tax="0.80"))
    view = _view(order, make_request(want("L1"), want("L2")))
    apply_inspection(
        view.lines,
        Inspection.model_validate(
            {
                "lines": [
                    {"line_id": "L1", "condition": "as_new", "disposition": "restock"},
                    {"line_id": "L2", "condition": "damaged", "disposition": "return_to_customer"},
                ]
            }
        ),
    )

    settled = settle_inspection(view.lines, view.refund, DEFAULT_POLICY).refund

    assert [(d.line_id, d.amount) for d in settled.deductions] == [("L2", Decimal("10.80"))]
    assert settled.amount == Decimal("21.60")


def test_a_graded_line_loses_the_same_share_of_its_tax():
    order = _order(_taxed(quantity=1, unit_price="20.00", tax="2.00"))
    view = _view(order, make_request(want(reason="changed_mind")))
    apply_inspection(
        view.lines,
        Inspection.model_validate({"lines": [{"line_id": "L1", "condition": "damaged", "disposition": "refurbish"}]}),
    )

    settled = settle_inspection(view.lines, view.refund, DEFAULT_POLICY).refund

    assert [(d.kind, d.amount) for d in settled.deductions] == [("condition", Decimal("11.00"))]  # 50 % of 22.00
    assert settled.amount == Decimal("22.00") - Decimal("5.99") - Decimal("11.00")


def _paid(view, *amounts, store_credit=False):
    view.refund.parts = [
        RefundPart(
            payment_id="store_credit" if store_credit else f"p{n}",
            amount=Decimal(amount),
            idempotency_key=f"k{n}",
            status="succeeded",
        )
        for n, amount in enumerate(amounts, start=1)
    ]
    return [m for m in ledger_movements(view) if m.kind in ("refund", "store_credit")]


def test_each_credit_note_lists_what_it_paid_for_and_they_add_up_to_the_refund():
    order = _order(_taxed(quantity=2, tax="2.00"), shipping=SHIPPING)
    view = _view(order, make_request(want(quantity=2)), FULL_RETURN)
    assert view.refund.amount == Decimal("47.39")

    card, gift_card = _paid(view, "30.00", "17.39")

    assert [(i.kind, str(i.amount)) for i in card.items] == [("goods", "30.00")]
    assert [(i.kind, str(i.amount)) for i in gift_card.items] == [
        ("goods", "10.00"),
        ("tax", "2.00"),
        ("shipping", "4.99"),
        ("shipping_tax", "0.40"),
    ]


def test_fees_come_off_the_goods_of_the_credit_note_and_a_store_credit_bonus_is_no_item():
    order = _order(_taxed(quantity=1, tax="1.60"))
    view = _view(order, make_request(want(reason="changed_mind"), resolution="store_credit"))
    assert view.refund.amount == Decimal("15.61") + Decimal("1.56")

    [credit] = _paid(view, str(view.refund.amount), store_credit=True)

    assert [(i.kind, str(i.amount)) for i in credit.items] == [("goods", "14.01"), ("tax", "1.60")]
    assert credit.amount - items_total(credit.items) == Decimal("1.56")


def test_a_refund_paid_before_items_existed_records_no_items():
    order = _order(_taxed(quantity=1))
    view = _view(order, make_request(want()))
    view.refund.items = []

    [refund] = _paid(view, "21.00")

    assert refund.items == []


# ---- property: whatever the returns, never more than was paid ---------------------------------------------

PROPERTY = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
CENTS = st.integers(0, 20_000)
TAX_CENTS = st.integers(0, 3_000)
REASONS = st.sampled_from(["defective", "damaged", "wrong_item", "changed_mind", "size_fit", "not_received"])
TENDERS = st.lists(st.sampled_from(["card", "wallet", "gift_card", "store_credit"]), min_size=1, max_size=3)


def _money(cents):
    return str(Decimal(cents).scaleb(-2))


@st.composite
def orders_and_returns(draw):
    """A delivered order (taxed lines, maybe shipping, paid by one to three tenders) and a sequence of
    partial returns against it, each asking for some of the units still returnable."""
    lines = [
        {
            **item(f"L{n}", quantity=draw(st.integers(1, 5)), unit_price=_money(draw(CENTS))),
            "tax": _money(draw(TAX_CENTS)),
            "kind": draw(st.sampled_from(["physical", "physical", "physical", "virtual"])),
        }
        for n in range(draw(st.integers(1, 4)))
    ]
    shipping = draw(st.none() | st.fixed_dictionaries({"amount": CENTS.map(_money), "tax": TAX_CENTS.map(_money)}))
    paid = sum(Decimal(line["unit_price"]) * line["quantity"] + Decimal(line["tax"]) for line in lines)
    paid += Decimal(shipping["amount"]) + Decimal(shipping["tax"]) if shipping else 0
    methods = draw(TENDERS)
    weights = [draw(st.integers(1, 5)) for _ in methods]
    amounts = [(paid * w / sum(weights)).quantize(Decimal("0.01"), rounding=ROUND_DOWN) for w in weights]
    amounts[0] += paid - sum(amounts)
    payments = [
        {"payment_id": f"p{n}", "method": method, "amount": str(amount)}
        for n, (method, amount) in enumerate(zip(methods, amounts, strict=True))
    ]
    order = _order(*lines, shipping=shipping, payments=payments)
    policy = make_policy(
        refund_original_shipping=draw(st.sampled_from(["never", "merchant_liable_full_return"])),
        restocking_fee_percent=draw(st.sampled_from(["0", "15"])),
        keep_item_max_amount=draw(st.sampled_from(["0.00", "20.00"])),
        evidence_required_over_amount="1000000",
    )
    left = {line["line_id"]: line["quantity"] for line in lines}
    requests = []
    for _ in range(draw(st.integers(1, 8))):
        open_lines = [line_id for line_id, units in left.items() if units]
        if not open_lines:
            break
        chosen = draw(st.lists(st.sampled_from(open_lines), min_size=1, unique=True))
        wanted = [
            want(line_id, quantity=draw(st.integers(1, left[line_id])), reason=draw(REASONS)) for line_id in chosen
        ]
        for line in wanted:
            left[line["line_id"]] -= line["quantity"]
        requests.append(make_request(*wanted))
    return order, policy, requests, paid


@PROPERTY
@given(orders_and_returns())
def test_partial_returns_never_refund_more_than_the_order_paid_per_line_tax_or_in_total(scenario):
    order, policy, requests, paid = scenario
    already: dict[str, int] = {}
    refunded_per_tender: dict[str, Decimal] = {}
    tax_back: dict[str | None, Decimal] = {}
    tax_estimated: dict[str, Decimal] = {}
    shipping_back = Decimal(0)
    total_back = Decimal(0)
    for number, request in enumerate(requests):
        evaluation = evaluate(order, request, policy, NOW, already_returned=dict(already))
        assert evaluation.eligible, evaluation.rules
        for judged in evaluation.lines:
            tax_estimated[judged.line_id] = tax_estimated.get(judged.line_id, Decimal(0)) + judged.tax
        goods = items_total([i for i in evaluation.refund_items if i.kind == "goods"])
        assert evaluation.refund_estimate == goods - fee_total(evaluation) + items_total(
            [i for i in evaluation.refund_items if i.kind != "goods"]
        )
        view = open_view(f"ret_{number}", order, request, evaluation, 1, NOW, NOW)
        allocated = allocate_refund(view.refund.amount, order.payments, refunded_per_tender)
        assert sum((amount for _, amount in allocated), Decimal(0)) == view.refund.amount, "the tenders cover it"
        view.refund.parts = [
            RefundPart(
                payment_id=payment.payment_id, amount=amount, idempotency_key=f"k{number}{n}", status="succeeded"
            )
            for n, (payment, amount) in enumerate(allocated)
        ]
        for movement in ledger_movements(view):
            if movement.kind != "refund":
                continue
            assert items_total(movement.items) == movement.amount, "a credit note's items add up to it"
            refunded_per_tender[movement.payment_id] = refunded_per_tender.get(movement.payment_id, 0) + movement.amount
            for part in movement.items:
                if part.kind == "tax":
                    tax_back[part.line_id] = tax_back.get(part.line_id, Decimal(0)) + part.amount
                if part.kind in ("shipping", "shipping_tax"):
                    shipping_back += part.amount
            total_back += movement.amount
        for line in request.lines:
            already[line.line_id] = already.get(line.line_id, 0) + line.quantity

    for line in order.lines:
        assert tax_back.get(line.line_id, Decimal(0)) <= tax_estimated.get(line.line_id, Decimal(0)) <= line.tax
        if already.get(line.line_id, 0) == line.quantity:
            assert tax_estimated.get(line.line_id, Decimal(0)) == line.tax, "all units back: all the tax, exactly"
    shipping_paid = (order.shipping.amount + order.shipping.tax) if order.shipping else Decimal(0)
    assert shipping_back <= shipping_paid
    assert total_back <= paid
    for payment in order.payments:
        assert refunded_per_tender.get(payment.payment_id, Decimal(0)) <= payment.amount
