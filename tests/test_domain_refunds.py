"""How a refund goes back to the tenders the customer paid with, and the keys that stop it paying twice."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.idempotency_keys import refund_key
from domain.orders import Order, Payment
from domain.refunds import TENDER_ORDER, allocate_refund

PROPERTY = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def pay(payment_id: str, method: str, amount: str) -> Payment:
    return Payment(payment_id=payment_id, method=method, amount=Decimal(amount))


def split(amount: str, *payments: Payment) -> list[tuple[str, str]]:
    return [(payment.payment_id, str(share)) for payment, share in allocate_refund(Decimal(amount), list(payments))]


def test_tenders_are_refunded_card_first_then_wallet_gift_card_and_store_credit_last():
    assert TENDER_ORDER == ("card", "wallet", "gift_card", "store_credit")


MIXED = [
    pay("sc", "store_credit", "10.00"),
    pay("gc", "gift_card", "20.00"),
    pay("w", "wallet", "15.00"),
    pay("c", "card", "30.00"),
]


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0.00", []),
        ("12.34", [("c", "12.34")]),
        ("30.00", [("c", "30.00")]),
        ("30.01", [("c", "30.00"), ("w", "0.01")]),
        ("50.00", [("c", "30.00"), ("w", "15.00"), ("gc", "5.00")]),
        ("70.00", [("c", "30.00"), ("w", "15.00"), ("gc", "20.00"), ("sc", "5.00")]),
        ("75.00", [("c", "30.00"), ("w", "15.00"), ("gc", "20.00"), ("sc", "10.00")]),
    ],
)
def test_a_refund_goes_back_in_tender_order_and_no_tender_gets_more_than_it_paid(amount, expected):
    assert split(amount, *MIXED) == expected


@pytest.mark.parametrize(
    ("amount", "payments", "expected", "unrefunded"),
    [
        ("80.00", MIXED, [("c", "30.00"), ("w", "15.00"), ("gc", "20.00"), ("sc", "10.00")], "5.00"),
        ("10.00", [], [], "10.00"),
        ("10.00", [pay("c", "card", "0.00"), pay("gc", "gift_card", "4.00")], [("gc", "4.00")], "6.00"),
    ],
)
def test_when_the_payments_are_short_the_remainder_is_left_unallocated(amount, payments, expected, unrefunded):
    parts = split(amount, *payments)
    assert parts == expected
    assert Decimal(amount) - sum((Decimal(share) for _, share in parts), Decimal(0)) == Decimal(unrefunded)


def test_several_payments_of_one_kind_are_refunded_in_the_order_they_were_made():
    payments = [
        pay("gc1", "gift_card", "5.00"),
        pay("c1", "card", "10.00"),
        pay("c2", "card", "10.00"),
        pay("gc2", "gift_card", "5.00"),
    ]
    assert split("27.00", *payments) == [("c1", "10.00"), ("c2", "10.00"), ("gc1", "5.00"), ("gc2", "2.00")]


@pytest.mark.parametrize("amount", ["0", "-5.00"])
def test_nothing_is_refunded_for_a_zero_or_negative_amount(amount):
    assert split(amount, *MIXED) == []


payments_strategy = st.lists(
    st.builds(
        lambda i, method, cents: pay(f"p{i}", method, str(Decimal(cents).scaleb(-2))),
        st.integers(0, 10**6),
        st.sampled_from(TENDER_ORDER),
        st.integers(0, 100_000),
    ),
    max_size=6,
    unique_by=lambda p: p.payment_id,
)


@PROPERTY
@given(amount_cents=st.integers(0, 400_000), payments=payments_strategy)
def test_refund_parts_add_up_respect_each_tender_and_follow_the_tender_order(amount_cents, payments):
    amount = Decimal(amount_cents).scaleb(-2)
    parts = allocate_refund(amount, payments)
    paid = sum((p.amount for p in payments), Decimal(0))
    allocated = sum((share for _, share in parts), Decimal(0))
    assert allocated == min(amount, paid)  # sums to the amount unless payments are short
    assert all(Decimal(0) < share <= payment.amount for payment, share in parts)
    assert len({payment.payment_id for payment, _ in parts}) == len(parts)
    ranks = [TENDER_ORDER.index(payment.method) for payment, _ in parts]
    assert ranks == sorted(ranks)
    # only the last tender used may be partly refunded; everyone before it got back all it paid
    assert all(share == payment.amount for payment, share in parts[:-1])


def test_the_refund_idempotency_key_is_stable_per_return_and_tender():
    assert refund_key("ret_1", "p1") == refund_key("ret_1", "p1")
    assert refund_key("ret_1", "p1") == "ret_1:refund:p1"


RETURN_IDS = st.integers(0, 2**32).map(lambda n: f"ret_{n:x}")
PAYMENT_IDS = st.text(alphabet="abcdefXYZ0123456789._-", min_size=1, max_size=12)


@PROPERTY
@given(st.lists(st.tuples(RETURN_IDS, PAYMENT_IDS), min_size=2, max_size=6, unique=True))
def test_different_returns_or_tenders_never_share_a_refund_key(pairs):
    keys = [refund_key(return_id, payment_id) for return_id, payment_id in pairs]
    assert len(set(keys)) == len(keys)


def test_each_part_of_one_refund_has_its_own_idempotency_key():
    keys = [refund_key("ret_1", payment.payment_id) for payment, _ in allocate_refund(Decimal("75"), MIXED)]
    assert len(keys) == 4 and len(set(keys)) == 4


def test_two_parts_of_one_refund_never_share_an_idempotency_key_even_if_the_order_repeats_a_payment_id():
    body = {
        "order_id": "O1",
        "customer_id": "C1",
        "currency": "USD",
        "placed_at": "2025-01-01T00:00:00Z",
        "fulfillment_status": "unfulfilled",
        "lines": [{"line_id": "L1", "sku": "S1", "quantity": 1, "unit_price": "50.00"}],
        "payments": [
            {"payment_id": "p1", "method": "card", "amount": "30.00"},
            {"payment_id": "p1", "method": "gift_card", "amount": "20.00"},
        ],
    }
    try:
        order = Order.model_validate(body)
    except ValidationError:
        return  # refusing such an order is a fine answer too
    keys = [refund_key("ret_1", payment.payment_id) for payment, _ in allocate_refund(Decimal("50.00"), order.payments)]
    assert len(set(keys)) == len(keys)


def test_no_tender_gets_back_more_than_it_paid_across_returns():
    card = Payment(payment_id="card", method="card", amount=Decimal("30.00"))
    gift = Payment(payment_id="gift", method="gift_card", amount=Decimal("20.00"))

    parts = allocate_refund(Decimal("20.00"), [card, gift], already_refunded={"card": Decimal("25.00")})

    assert [(p.payment_id, amount) for p, amount in parts] == [("card", Decimal("5.00")), ("gift", Decimal("15.00"))]
