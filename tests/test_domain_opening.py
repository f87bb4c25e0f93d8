"""The first view of a return: what the policy decided, laid out as the Return the contract shows."""

from decimal import Decimal

import pytest

from domain.evaluation import evaluate
from domain.opening import first_waiting_status, open_view
from domain.policy import DEFAULT_POLICY
from domain.returns import Hold, Status, TimelineEntry
from tests.policy_cases import (
    DAY,
    NOW,
    SECOND,
    item,
    make_order,
    make_policy,
    make_request,
    risk_of,
    want,
)

REQUESTED_AT = NOW - 5 * SECOND
DEPOSIT_POLICY = make_policy(risk={"serial_returner_action": "deposit"})
SERIAL = risk_of("high", "12 returns in 180 days", serial_returner=True)


def opened(order=None, request=None, policy=DEFAULT_POLICY, risk=None, policy_version=3):
    """Evaluate ``request`` over ``order`` and open the return; (view, evaluation)."""
    order = order or make_order(item())
    request = request or make_request()
    evaluation = evaluate(order, request, policy, REQUESTED_AT, risk=risk)
    view = open_view("ret_1", order, request, evaluation, policy_version, REQUESTED_AT, NOW)
    return view, evaluation


# ---- status and timeline ---------------------------------------------------------------------------


def test_an_auto_approved_return_opens_approved_with_the_rules_on_its_timeline():
    view, evaluation = opened()
    assert evaluation.outcome == "auto_approved"
    assert view.status == Status.APPROVED
    assert view.timeline == [
        TimelineEntry(status=Status.REQUESTED, at=REQUESTED_AT, note=""),
        TimelineEntry(status=Status.APPROVED, at=NOW, note="; ".join(evaluation.rules)),
    ]


def test_a_return_staff_approved_by_override_opens_approved_with_the_override_in_the_note():
    order = make_order(item(), delivered_ago=40 * DAY)
    view, evaluation = opened(order, make_request(override_reason="goodwill: loyal customer"))
    assert evaluation.outcome == "approved"
    assert view.status == Status.APPROVED
    assert [entry.status for entry in view.timeline] == [Status.REQUESTED, Status.APPROVED]
    assert view.timeline[1].note == "; ".join(evaluation.rules)
    assert "approved by staff: goodwill: loyal customer" in view.timeline[1].note


@pytest.mark.parametrize(
    ("unit_price", "risk"),
    [
        pytest.param("300.00", None, id="above-the-auto-approval-limit"),
        pytest.param("20.00", risk_of("high", "returned 7 of 8 orders in 180 days"), id="risky-customer"),
    ],
)
def test_a_return_that_needs_review_opens_requested_with_only_the_request_on_its_timeline(unit_price, risk):
    view, evaluation = opened(make_order(item(unit_price=unit_price)), risk=risk)
    assert evaluation.outcome == "needs_review"
    assert view.status == Status.REQUESTED
    assert view.timeline == [TimelineEntry(status=Status.REQUESTED, at=REQUESTED_AT, note="")]


@pytest.mark.parametrize(
    ("order", "request_", "policy", "first"),
    [
        pytest.param(make_order(item()), make_request(), DEFAULT_POLICY, Status.AWAITING_SHIPMENT, id="booked-first"),
        pytest.param(
            make_order(item(unit_price="300.00")), make_request(), DEFAULT_POLICY, Status.UNDER_REVIEW, id="review"
        ),
        pytest.param(
            make_order(item()),
            make_request(),
            make_policy(keep_item_max_amount="50.00"),
            Status.APPROVED,
            id="nothing-ships-back",
        ),
    ],
)
def test_a_return_first_waits_under_review_awaiting_its_booked_parcel_or_approved(order, request_, policy, first):
    """The status its start sets for Temporal UI, so that its first workflow task need not upsert it."""
    _, evaluation = opened(order, request_, policy)
    assert first_waiting_status(evaluation) == first


def test_the_decision_shows_the_outcome_the_rules_and_the_risk_of_the_evaluation():
    view, evaluation = opened(risk=risk_of("high", "returned 7 of 8 orders in 180 days"))
    assert view.decision.outcome == evaluation.outcome
    assert view.decision.rules == evaluation.rules
    assert view.decision.risk == "high"
    assert view.decision.risk_reasons == ["returned 7 of 8 orders in 180 days"]


# ---- the refund --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resolution", "estimate", "method"),
    [
        ("refund", "refund_estimate", "original"),
        ("store_credit", "store_credit_estimate", "store_credit"),
    ],
)
def test_the_refund_starts_at_the_estimate_of_the_chosen_resolution(resolution, estimate, method):
    request = make_request(want(reason="changed_mind"), resolution=resolution)
    view, evaluation = opened(request=request)
    assert view.refund.amount == getattr(evaluation, estimate)
    assert view.refund.method == method
    assert view.refund.currency == "USD"
    assert view.refund.fees == evaluation.fees and evaluation.fees  # the customer's reason: fees are charged
    assert (view.refund.status, view.refund.parts, view.refund.deductions) == ("pending", [], [])


def test_store_credit_opens_with_the_bonus_on_top_of_the_refund():
    view, evaluation = opened(request=make_request(resolution="store_credit"))
    assert view.refund.amount == Decimal("22.00") == evaluation.store_credit_estimate
    assert evaluation.refund_estimate == Decimal("20.00")


@pytest.mark.parametrize(
    ("currency", "unit_price", "zero"),
    [("USD", "20.00", "0.00"), ("JPY", "2000", "0"), ("KWD", "20.000", "0.000")],
)
def test_an_exchange_opens_with_nothing_to_refund_in_the_order_currency(currency, unit_price, zero):
    order = make_order(item(unit_price=unit_price), currency=currency)
    view, evaluation = opened(order, make_request(resolution="exchange"))
    assert evaluation.type == view.type == "exchange"
    assert evaluation.refund_estimate > 0
    assert str(view.refund.amount) == zero
    assert view.refund.currency == currency
    assert view.refund.method == "original"


def test_a_serial_returner_asked_for_a_deposit_has_one_held_deposit():
    view, evaluation = opened(policy=DEPOSIT_POLICY, risk=SERIAL)
    assert evaluation.deposit == Decimal("4.00")  # 20% of 20.00
    assert view.refund.holds == [Hold(kind="deposit", amount=Decimal("4.00"), status="held")]
    assert view.refund.amount == evaluation.refund_estimate  # the deposit is held back from it, not taken off yet


def test_without_a_deposit_nothing_is_held():
    view, evaluation = opened()
    assert evaluation.deposit == 0
    assert view.refund.holds == []


# ---- logistics and lines --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["mail", "drop_off"])
def test_when_the_item_ships_back_the_requested_logistics_method_is_kept(method):
    view, evaluation = opened(request=make_request(method=method))
    assert evaluation.ships_back
    assert view.logistics.method == method
    assert (view.logistics.carrier, view.logistics.tracking_number, view.logistics.label_url) == (None, None, None)


@pytest.mark.parametrize(
    ("request_", "policy"),
    [
        pytest.param(make_request(want(reason="not_received")), DEFAULT_POLICY, id="item-never-received"),
        pytest.param(make_request(want(reason="missing_item")), DEFAULT_POLICY, id="item-missing"),
        pytest.param(make_request(), make_policy(keep_item_max_amount="50.00"), id="customer-keeps-the-item"),
    ],
)
def test_when_nothing_ships_back_the_logistics_method_is_none_whatever_was_asked(request_, policy):
    view, evaluation = opened(request=request_, policy=policy)
    assert request_.logistics.method == "mail"
    assert not evaluation.ships_back
    assert view.logistics.method == "none"
    assert view.type == "refund_only"


def test_each_line_carries_its_unit_price_sku_and_the_liability_the_policy_found():
    order = make_order(item("L1", unit_price="20.00"), item("L2", category="home", unit_price="7.25"))
    request = make_request(want("L2", quantity=2, reason="changed_mind"), want("L1", reason="defective"))
    view, evaluation = opened(order, request)
    assert [
        (line.line_id, line.quantity, line.reason, line.liability, str(line.unit_price), line.sku)
        for line in view.lines
    ] == [
        ("L2", 2, "changed_mind", "customer", "7.25", "SKU-L2"),
        ("L1", 1, "defective", "merchant", "20.00", "SKU-L1"),
    ]
    assert [line.liability for line in view.lines] == [line.liability for line in evaluation.lines]
    assert all(line.condition is None and line.disposition is None for line in view.lines)


def test_the_view_keeps_the_ids_the_policy_version_and_when_the_return_was_requested():
    order = make_order(item())
    view, evaluation = opened(order, policy_version=7)
    assert (view.id, view.order_id, view.customer_id) == ("ret_1", "O1", "C1")
    assert view.policy_version == 7
    assert view.created_at == REQUESTED_AT
    assert view.updated_at == NOW
    assert view.type == evaluation.type == "return"
