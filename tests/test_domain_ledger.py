"""The money ledger's rows for a return, and the idempotency keys that name every call and row."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import idempotency_keys as keys
from domain.evaluation import evaluate
from domain.ledger import STORE_CREDIT, ledger_movements
from domain.opening import open_view
from domain.returns import Deduction, Fee, Hold, RefundPart
from tests.policy_cases import NOW, item, make_order, make_policy, make_request, want

PROPERTY = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def view_with(return_id="ret_1", currency="USD", **refund):
    """An opened return whose refund has the given fields (parts, fees, deductions, holds)."""
    unit_price = "2000" if currency == "JPY" else "20.00"
    order = make_order(item(unit_price=unit_price), currency=currency)
    request = make_request()
    evaluation = evaluate(order, request, make_policy(), NOW)
    view = open_view(return_id, order, request, evaluation, 1, NOW, NOW)
    view.refund = view.refund.model_copy(update=refund)
    return view


def part(payment_id, amount, status="succeeded", provider_ref=None, return_id="ret_1"):
    key = keys.store_credit_key(return_id) if payment_id == STORE_CREDIT else keys.refund_key(return_id, payment_id)
    return RefundPart(
        payment_id=payment_id,
        amount=Decimal(amount),
        idempotency_key=key,
        status=status,
        provider_refund_id=provider_ref,
    )


def rows(view):
    return [
        (m.idempotency_key, m.kind, str(m.amount), m.payment_id, m.provider_ref, m.credit_note)
        for m in ledger_movements(view)
    ]


# ---- money paid out ------------------------------------------------------------------------------------


def test_only_the_parts_that_succeeded_are_in_the_ledger():
    view = view_with(
        parts=[
            part("p1", "10.00", provider_ref="re_1"),
            part("p2", "5.00", status="failed"),
            part("p3", "3.00", status="pending"),
        ]
    )
    assert rows(view) == [("ret_1:refund:p1", "refund", "10.00", "p1", "re_1", "CN-ret_1-1")]


def test_store_credit_is_its_own_kind_and_names_no_payment():
    view = view_with(parts=[part(STORE_CREDIT, "22.00", provider_ref="sc_9")])
    assert rows(view) == [("ret_1:store_credit", "store_credit", "22.00", None, "sc_9", "CN-ret_1-1")]


def test_each_successful_payment_gets_the_next_credit_note_in_order():
    view = view_with(
        parts=[
            part("p1", "10.00"),
            part("p2", "4.00", status="failed"),
            part("p3", "6.00"),
            part(STORE_CREDIT, "4.40"),
        ]
    )
    movements = ledger_movements(view)
    assert [(m.payment_id, m.credit_note) for m in movements] == [
        ("p1", "CN-ret_1-1"),
        ("p3", "CN-ret_1-2"),
        (None, "CN-ret_1-3"),
    ]
    assert [m.kind for m in movements] == ["refund", "refund", "store_credit"]


def test_a_return_that_paid_nothing_has_no_ledger_rows():
    assert ledger_movements(view_with(parts=[part("p1", "10.00", status="failed")])) == []
    assert ledger_movements(view_with()) == []


def test_every_row_is_in_the_refunds_currency():
    view = view_with(
        currency="JPY",
        parts=[part("p1", "1500")],
        fees=[Fee(kind="return_shipping", amount=Decimal("600"))],
    )
    assert {m.currency for m in ledger_movements(view)} == {"JPY"}


# ---- money kept -------------------------------------------------------------------------------------------


def test_fees_deductions_and_kept_deposits_are_negative_rows_with_their_own_keys():
    view = view_with(
        parts=[part("p1", "10.00")],
        fees=[Fee(kind="return_shipping", amount=Decimal("5.99")), Fee(kind="restocking", amount=Decimal("3.00"))],
        deductions=[Deduction(line_id="L1", kind="condition", amount=Decimal("10.00"))],
        holds=[Hold(amount=Decimal("4.00"), status="kept")],
    )
    assert rows(view)[1:] == [
        ("ret_1:fee:return_shipping", "fee", "-5.99", None, None, None),
        ("ret_1:fee:restocking", "fee", "-3.00", None, None, None),
        ("ret_1:deduction:L1", "fee", "-10.00", None, None, None),
        ("ret_1:deposit_kept", "deposit_kept", "-4.00", None, None, None),
    ]


@pytest.mark.parametrize("status", ["held", "released"])
def test_a_deposit_not_kept_is_not_in_the_ledger(status):
    view = view_with(holds=[Hold(amount=Decimal("4.00"), status=status)])
    assert ledger_movements(view) == []


def test_zero_fees_and_zero_deductions_are_skipped():
    view = view_with(
        fees=[Fee(kind="return_shipping", amount=Decimal("0.00")), Fee(kind="restocking", amount=Decimal("1.50"))],
        deductions=[
            Deduction(line_id="L1", kind="condition", amount=Decimal("0.00")),
            Deduction(line_id="L2", kind="returned_to_customer", amount=Decimal("7.00")),
        ],
    )
    assert [(m.idempotency_key, str(m.amount)) for m in ledger_movements(view)] == [
        ("ret_1:fee:restocking", "-1.50"),
        ("ret_1:deduction:L2", "-7.00"),
    ]


def test_the_ledger_of_the_same_return_is_the_same_every_time():
    view = view_with(
        parts=[part("p1", "10.00"), part(STORE_CREDIT, "2.00")],
        fees=[Fee(kind="return_shipping", amount=Decimal("5.99"))],
        holds=[Hold(amount=Decimal("4.00"), status="kept")],
    )
    assert ledger_movements(view) == ledger_movements(view.model_copy(deep=True))


def test_every_ledger_row_of_a_return_has_its_own_idempotency_key_even_with_two_restocking_fees():
    order = make_order(item("L1", category="electronics"), item("L2", category="electronics"))
    request = make_request(want("L1", reason="changed_mind"), want("L2", reason="changed_mind"))
    evaluation = evaluate(order, request, make_policy(), NOW)
    assert [fee.kind for fee in evaluation.fees] == ["restocking", "restocking", "return_shipping"]
    view = open_view("ret_1", order, request, evaluation, 1, NOW, NOW)
    movements = ledger_movements(view)
    assert len(movements) == 3
    assert len({m.idempotency_key for m in movements}) == len(movements)


# ---- idempotency keys -----------------------------------------------------------------------------------------

# Every key, with the format already written to partners and the ledger: these strings may never change.
PINNED = [
    (keys.refund_key, ("ret_1", "p1"), "ret_1:refund:p1"),
    (keys.store_credit_key, ("ret_1",), "ret_1:store_credit"),
    (keys.fallback_store_credit_key, ("ret_1", "p1"), "ret_1:fallback:p1"),
    (keys.fee_key, ("ret_1", "return_shipping"), "ret_1:fee:return_shipping"),
    (keys.fee_key, ("ret_1", "restocking"), "ret_1:fee:restocking"),
    (keys.deduction_key, ("ret_1", "L1"), "ret_1:deduction:L1"),
    (keys.deposit_kept_key, ("ret_1",), "ret_1:deposit_kept"),
    (keys.shipment_key, ("ret_1",), "ret_1:shipment"),
    (keys.intake_key, ("ret_1",), "ret_1:intake"),
    (keys.intercept_key, ("ret_1",), "ret_1:intercept"),
    (keys.revocation_key, ("ret_1", "L1"), "ret_1:revoke:L1"),
    (keys.reservation_key, ("ret_1", "L1"), "ret_1:reserve:L1"),
]


@pytest.mark.parametrize(("key", "args", "expected"), PINNED, ids=[expected for _, _, expected in PINNED])
def test_each_idempotency_key_keeps_the_format_already_written(key, args, expected):
    assert key(*args) == expected


@pytest.mark.parametrize(("key", "args", "expected"), PINNED, ids=[expected for _, _, expected in PINNED])
def test_each_idempotency_key_is_the_same_every_time_it_is_computed(key, args, expected):
    assert key(*args) == key(*args)
    assert key("ret_2", *args[1:]) == key("ret_2", *args[1:]) != key(*args)


def test_credit_notes_are_numbered_from_one_per_return():
    assert [keys.credit_note_number("ret_1", n) for n in (1, 2, 3)] == ["CN-ret_1-1", "CN-ret_1-2", "CN-ret_1-3"]
    assert keys.credit_note_number("ret_2", 1) == "CN-ret_2-1"


def test_the_keys_of_one_return_are_all_different():
    computed = [key(*args) for key, args, _ in PINNED]
    assert len(set(computed)) == len(computed)


def test_store_credit_paid_by_choice_and_as_a_fallback_have_different_keys():
    chosen, fallback = keys.store_credit_key("ret_1"), keys.fallback_store_credit_key("ret_1", "p1")
    assert len({chosen, fallback, keys.refund_key("ret_1", STORE_CREDIT)}) == 3


# Identifier characters (domain.orders.Identifier) without ':'.
ID_ALPHABET = "abcdefXYZ0123456789._-"
IDS = st.text(alphabet=ID_ALPHABET, min_size=1, max_size=10)
STEPS = st.one_of(
    st.tuples(st.just(keys.refund_key), IDS),
    st.tuples(st.just(keys.store_credit_key)),
    st.tuples(st.just(keys.fallback_store_credit_key), IDS),
    st.tuples(st.just(keys.fee_key), st.sampled_from(["return_shipping", "restocking"])),
    st.tuples(st.just(keys.deduction_key), IDS),
    st.tuples(st.just(keys.deposit_kept_key)),
    st.tuples(st.just(keys.shipment_key)),
    st.tuples(st.just(keys.intake_key)),
    st.tuples(st.just(keys.intercept_key)),
    st.tuples(st.just(keys.revocation_key), IDS),
    st.tuples(st.just(keys.reservation_key), IDS),
)


@PROPERTY
@given(st.lists(st.tuples(IDS, STEPS), min_size=2, max_size=8, unique=True))
def test_different_returns_or_steps_never_share_an_idempotency_key(pairs):
    computed = [step[0](return_id, *step[1:]) for return_id, step in pairs]
    assert len(set(computed)) == len(computed)
