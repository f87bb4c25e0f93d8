"""Small rules of a return: when it can be disputed, how far a parcel got, what is digital, what is left
to return, and what a staff override bent."""

import pytest

from domain.evaluation import OVERRIDABLE, OverriddenRule, evaluate
from domain.opening import open_view
from domain.orders import returnable_quantity
from domain.policy import DEFAULT_POLICY
from domain.returns import (
    FINAL_STATUSES,
    ReturnLine,
    Status,
    dispute_refusal,
    scan_progress,
    status_changes,
    virtual_lines,
)
from tests.policy_cases import DAY, EVIDENCE, NOW, item, judge_one, make_order, make_request, want

OVERRIDE = "goodwill: loyal customer"


def opened_with_status(status):
    order = make_order(item())
    request = make_request()
    view = open_view("ret_1", order, request, evaluate(order, request, DEFAULT_POLICY, NOW), 1, NOW, NOW)
    return view.model_copy(update={"status": status})


# ---- disputes -----------------------------------------------------------------------------------------


def test_the_final_statuses_are_completed_rejected_canceled_and_expired():
    assert {Status.COMPLETED, Status.REJECTED, Status.CANCELED, Status.EXPIRED} == FINAL_STATUSES


@pytest.mark.parametrize("status", sorted(FINAL_STATUSES))
def test_a_return_that_has_ended_can_be_disputed(status):
    assert dispute_refusal(opened_with_status(status)) is None


@pytest.mark.parametrize("status", [status for status in Status if status not in FINAL_STATUSES])
def test_a_return_that_has_not_ended_cannot_be_disputed_and_the_message_names_its_status(status):
    refusal = dispute_refusal(opened_with_status(status))
    assert refusal == f"a return that is {status.value} has not ended; it cannot be disputed yet"


def test_every_status_either_allows_a_dispute_or_explains_why_not():
    answers = {status: dispute_refusal(opened_with_status(status)) for status in Status}
    assert {status for status, refusal in answers.items() if refusal is None} == FINAL_STATUSES
    assert all(status.value in refusal for status, refusal in answers.items() if refusal is not None)


# ---- carrier scans ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "progress"),
    [("picked_up", 1), ("in_transit", 1), ("delivered", 2), ("exception", 0)],
)
def test_a_scan_says_how_far_the_parcel_got_and_an_exception_says_nothing(event, progress):
    assert scan_progress(event) == progress


# ---- digital goods -------------------------------------------------------------------------------------------------


def returned(line_id):
    return ReturnLine(line_id=line_id, quantity=1, reason="defective", liability="merchant", unit_price="5.00")


def test_the_virtual_lines_of_a_return_are_those_the_order_sold_as_digital_goods():
    order = make_order(
        item("L1"),
        {**item("L2", category="software"), "kind": "virtual"},
        {**item("L3", category="software"), "kind": "virtual"},
    )
    lines = [returned("L3"), returned("L1"), returned("L2")]
    assert [line.line_id for line in virtual_lines(order, lines)] == ["L3", "L2"]


def test_a_return_of_physical_goods_only_has_no_virtual_lines():
    assert virtual_lines(make_order(item("L1"), item("L2")), [returned("L1"), returned("L2")]) == []


def test_a_returned_line_the_order_does_not_have_is_not_virtual():
    order = make_order({**item("L1"), "kind": "virtual"})
    assert [line.line_id for line in virtual_lines(order, [returned("L9"), returned("L1")])] == ["L1"]


# ---- what is left to return -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bought", "claimed", "left"),
    [
        (3, {}, 3),
        (3, {"L1": 1}, 2),
        (3, {"L1": 3}, 0),
        (3, {"L2": 2}, 3),  # units of another line do not count
        (1, {"L1": 0}, 1),
    ],
)
def test_the_returnable_quantity_is_what_was_bought_less_what_returns_already_hold(bought, claimed, left):
    line = make_order(item("L1", quantity=bought)).line("L1")
    assert returnable_quantity(line, claimed) == left


def test_the_returnable_quantity_does_not_change_the_claims_it_is_given():
    claimed = {"L1": 1}
    returnable_quantity(make_order(item("L1")).line("L1"), claimed)
    assert claimed == {"L1": 1}


# ---- staff overrides ---------------------------------------------------------------------------------------------


def test_only_the_window_the_reason_and_the_evidence_rules_may_be_overridden():
    assert {"window_expired", "reason_not_allowed", "evidence_required"} == OVERRIDABLE
    assert "final_sale" not in OVERRIDABLE


FRESH_TODAY = {"category": "fresh", "delivered_ago": DAY / 12}


@pytest.mark.parametrize(
    ("case", "codes"),
    [
        pytest.param({"delivered_ago": 40 * DAY}, ["window_expired"], id="window-expired"),
        pytest.param(
            {**FRESH_TODAY, "reason": "changed_mind", "evidence": EVIDENCE}, ["reason_not_allowed"], id="reason"
        ),
        pytest.param({**FRESH_TODAY, "reason": "damaged"}, ["evidence_required"], id="evidence"),
        pytest.param(
            {"category": "fresh", "delivered_ago": 2 * DAY, "reason": "changed_mind"},
            ["reason_not_allowed", "window_expired", "evidence_required"],
            id="all-three",
        ),
    ],
)
def test_an_override_records_each_objection_it_bent_with_the_line_code_and_message(case, codes):
    refused = judge_one(**case)
    assert not refused.eligible and refused.lines[0].code == codes[0]
    assert refused.overridden == []  # without an override nothing is bent
    evaluation = judge_one(**case, override_reason=OVERRIDE)
    assert evaluation.outcome == "approved"
    assert [(entry.line_id, entry.code) for entry in evaluation.overridden] == [("L1", code) for code in codes]
    assert evaluation.overridden[0].message == refused.lines[0].message
    for entry in evaluation.overridden:
        assert f"{entry.message} (overridden by staff: {OVERRIDE})" in evaluation.rules


def test_an_override_of_a_return_the_policy_allows_anyway_records_nothing_bent():
    evaluation = judge_one(override_reason=OVERRIDE)
    assert evaluation.outcome == "approved"
    assert evaluation.overridden == []


def test_an_override_records_only_the_lines_it_bent():
    order = make_order(item("L1"), item("L2", category="fresh"), delivered_ago=DAY / 12)
    request = make_request(want("L1"), want("L2", reason="changed_mind", evidence=EVIDENCE), override_reason=OVERRIDE)
    evaluation = evaluate(order, request, DEFAULT_POLICY, NOW)
    assert evaluation.eligible
    assert evaluation.overridden == [
        OverriddenRule(
            line_id="L2",
            code="reason_not_allowed",
            message="fresh items can be returned only for: quality_issue, damaged, wrong_item, missing_item",
        )
    ]


@pytest.mark.parametrize(
    "case",
    [
        pytest.param({}, id="final-sale"),
        pytest.param({"delivered_ago": 40 * DAY}, id="final-sale-and-window-expired"),
        pytest.param(
            {"category": "fresh", "reason": "changed_mind", "delivered_ago": 2 * DAY}, id="final-sale-and-all"
        ),
    ],
)
def test_a_final_sale_is_never_overridden_and_nothing_is_recorded_as_bent(case):
    evaluation = judge_one(**case, final_sale=True, override_reason=OVERRIDE)
    assert evaluation.outcome == "rejected"
    assert evaluation.lines[0].code == "final_sale"
    assert evaluation.overridden == []
    assert not any("overridden by staff" in rule for rule in evaluation.rules)


@pytest.mark.parametrize(
    ("wanted", "code"),
    [(want("L9"), "unknown_line"), (want("L1", quantity=4), "quantity_exceeds_returnable")],
)
def test_a_refusal_no_override_can_bend_is_not_recorded_as_bent(wanted, code):
    order = make_order(item("L1", quantity=3), delivered_ago=40 * DAY)
    evaluation = evaluate(order, make_request(wanted, override_reason=OVERRIDE), DEFAULT_POLICY, NOW)
    assert evaluation.lines[0].code == code
    assert evaluation.overridden == []


def test_the_bent_rules_travel_with_the_evaluation():
    evaluation = judge_one(delivered_ago=40 * DAY, override_reason=OVERRIDE)
    again = type(evaluation).model_validate_json(evaluation.model_dump_json())
    assert again.overridden == evaluation.overridden
    assert again.overridden[0].code == "window_expired"


def test_a_write_announces_each_status_the_return_entered_once_in_order() -> None:
    # In transit when stored; the write passed received (twice, as two steps of one task) to refund pending.
    passed = [Status.IN_TRANSIT, Status.RECEIVED, Status.RECEIVED, Status.REFUND_PENDING]
    assert status_changes(Status.IN_TRANSIT, passed) == [Status.RECEIVED, Status.REFUND_PENDING]
    assert status_changes(Status.REFUND_PENDING, [Status.REFUND_PENDING]) == []
    assert status_changes(Status.RECEIVED, [Status.NEEDS_ATTENTION, Status.RECEIVED]) == [
        Status.NEEDS_ATTENTION,
        Status.RECEIVED,
    ]
