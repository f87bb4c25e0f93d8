"""Inspection: every line graded once, what comes off the refund, and whether the deposit is kept."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.inspection import apply_inspection, inspection_deductions, inspection_errors, settle_inspection
from domain.policy import DEFAULT_POLICY
from domain.returns import Deduction, Fee, Hold, Inspection, Refund, ReturnLine
from tests.policy_cases import make_policy

PROPERTY = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def returned(
    line_id="L1",
    *,
    quantity=1,
    unit_price="20.00",
    liability="customer",
    condition=None,
    disposition=None,
    reason=None,
):
    return ReturnLine(
        line_id=line_id,
        quantity=quantity,
        reason=reason or ("changed_mind" if liability == "customer" else "defective"),
        liability=liability,
        unit_price=Decimal(unit_price),
        sku=f"SKU-{line_id}",
        condition=condition,
        disposition=disposition,
    )


def graded(*grades):
    """An inspection from (line_id, condition, disposition) triples."""
    return Inspection.model_validate(
        {
            "lines": [
                {"line_id": line_id, "condition": condition, "disposition": disposition}
                for line_id, condition, disposition in grades
            ]
        }
    )


def refund(amount="40.00", *holds, currency="USD", **fields):
    return Refund(amount=Decimal(amount), currency=currency, holds=list(holds), **fields)


def deposit(amount="4.00", status="held"):
    return Hold(amount=Decimal(amount), status=status)


LINES = [returned("L1"), returned("L2")]


# ---- every line once ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "grades",
    [
        [("L1", "as_new", "restock"), ("L2", "opened", "refurbish")],
        [("L2", "damaged", "liquidate"), ("L1", "as_new", "restock")],
    ],
    ids=["in-order", "any-order"],
)
def test_an_inspection_that_grades_every_line_once_has_no_errors(grades):
    assert inspection_errors(LINES, graded(*grades)) == []


def test_an_inspection_of_a_line_the_return_does_not_have_names_it_as_unknown():
    inspection = graded(("L1", "as_new", "restock"), ("L2", "as_new", "restock"), ("L9", "as_new", "restock"))
    assert inspection_errors(LINES, inspection) == [{"line_id": "L9", "code": "unknown_line"}]


def test_an_inspection_that_skips_a_line_names_the_line_not_inspected():
    assert inspection_errors(LINES, graded(("L1", "as_new", "restock"))) == [
        {"line_id": "L2", "code": "line_not_inspected"}
    ]


def test_an_inspection_that_grades_another_line_instead_names_both():
    inspection = graded(("L1", "as_new", "restock"), ("L3", "as_new", "restock"))
    assert inspection_errors(LINES, inspection) == [
        {"line_id": "L3", "code": "unknown_line"},
        {"line_id": "L2", "code": "line_not_inspected"},
    ]


@pytest.mark.parametrize(
    "grades",
    [
        [("L1", "as_new", "restock"), ("L1", "damaged", "dispose"), ("L2", "as_new", "restock")],
        [("L1", "as_new", "restock"), ("L2", "as_new", "restock"), ("L2", "as_new", "restock")],
    ],
    ids=["L1-twice", "L2-twice"],
)
def test_an_inspection_that_grades_a_line_twice_is_refused_naming_that_line(grades):
    twice = next(line_id for line_id, *_ in grades if [g[0] for g in grades].count(line_id) > 1)
    errors = inspection_errors(LINES, graded(*grades))
    assert errors, "a line graded twice must be refused"
    assert {error["line_id"] for error in errors} == {twice}


# ---- recording the grades -------------------------------------------------------------------------------


def test_applying_an_inspection_records_each_lines_grade_by_line_id():
    lines = [returned("L1"), returned("L2")]
    apply_inspection(lines, graded(("L2", "damaged", "liquidate"), ("L1", "opened", "restock")))
    assert [(line.line_id, line.condition, line.disposition) for line in lines] == [
        ("L1", "opened", "restock"),
        ("L2", "damaged", "liquidate"),
    ]
    assert [line.sku for line in lines] == ["SKU-L1", "SKU-L2"]  # nothing else changes


# ---- deductions ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("liability", "condition", "disposition", "quantity", "unit_price", "expected"),
    [
        # going back to the customer: not refunded at all, whoever is liable
        ("customer", "as_new", "return_to_customer", 2, "20.00", [("returned_to_customer", "40.00")]),
        ("merchant", "damaged", "return_to_customer", 1, "19.99", [("returned_to_customer", "19.99")]),
        # customer-liable, worse than sold: the policy's percent of the line's worth
        ("customer", "damaged", "liquidate", 1, "20.00", [("condition", "10.00")]),
        ("customer", "damaged", "dispose", 3, "19.99", [("condition", "29.99")]),  # 29.985 rounds half-up
        ("customer", "not_as_described", "dispose", 1, "20.00", [("condition", "20.00")]),
        ("customer", "missing", "dispose", 2, "20.00", [("condition", "40.00")]),
        # customer-liable, as sold: nothing
        ("customer", "as_new", "restock", 1, "20.00", []),
        ("customer", "opened", "restock", 1, "20.00", []),
        # merchant-liable (it was defective): never
        ("merchant", "damaged", "dispose", 1, "20.00", []),
        ("merchant", "not_as_described", "dispose", 1, "20.00", []),
        ("merchant", "missing", "dispose", 1, "20.00", []),
    ],
)
def test_what_inspection_takes_off_depends_on_disposition_liability_and_condition(
    liability, condition, disposition, quantity, unit_price, expected
):
    line = returned(
        "L1",
        quantity=quantity,
        unit_price=unit_price,
        liability=liability,
        condition=condition,
        disposition=disposition,
    )
    deductions, notes = inspection_deductions([line], DEFAULT_POLICY, "USD")
    assert [(deduction.kind, str(deduction.amount)) for deduction in deductions] == expected
    assert all(deduction.line_id == "L1" for deduction in deductions)
    assert len(notes) == len(deductions)


def test_each_deduction_is_explained_in_a_note():
    lines = [
        returned("L1", condition="damaged", disposition="liquidate"),
        returned("L2", condition="as_new", disposition="return_to_customer"),
    ]
    _, notes = inspection_deductions(lines, DEFAULT_POLICY, "USD")
    assert notes == ["line L1 came back damaged: 50% deducted", "line L2 goes back to the customer: not refunded"]


def test_a_merchant_sets_the_percent_each_condition_costs():
    policy = make_policy(condition_deduction_percent={"damaged": "25", "opened": "10"})
    lines = [
        returned("L1", condition="damaged", disposition="liquidate"),
        returned("L2", condition="opened", disposition="restock"),
        returned("L3", condition="missing", disposition="dispose"),  # no longer in the table: nothing
    ]
    deductions, _ = inspection_deductions(lines, policy, "USD")
    assert [(d.line_id, str(d.amount)) for d in deductions] == [("L1", "5.00"), ("L2", "2.00")]


def test_a_zero_percent_condition_deducts_nothing():
    policy = make_policy(condition_deduction_percent={"damaged": "0"})
    line = returned(condition="damaged", disposition="liquidate")
    assert inspection_deductions([line], policy, "USD") == ([], [])


def test_deductions_round_to_the_currency_of_the_refund():
    line = returned(unit_price="1999", condition="damaged", disposition="liquidate")
    deductions, _ = inspection_deductions([line], DEFAULT_POLICY, "JPY")
    assert str(deductions[0].amount) == "1000"  # 999.5 rounds half-up to a whole yen


# ---- settlement -----------------------------------------------------------------------------------------------


def test_settling_takes_the_deductions_off_and_adds_them_to_those_already_there():
    earlier = Deduction(line_id="L0", kind="condition", amount=Decimal("1.00"))
    lines = [returned("L1", condition="damaged", disposition="liquidate"), returned("L2", condition="as_new")]
    settled = settle_inspection(lines, refund("40.00", deductions=[earlier]), DEFAULT_POLICY)
    assert settled.refund.amount == Decimal("30.00")
    assert settled.refund.deductions == [
        earlier,
        Deduction(line_id="L1", kind="condition", amount=Decimal("10.00")),
    ]
    assert settled.note == "line L1 came back damaged: 50% deducted"


@pytest.mark.parametrize("conditions", [["as_new"], ["opened"], [None], ["as_new", "opened", None]])
def test_the_deposit_is_released_when_every_item_came_back_as_sold(conditions):
    lines = [returned(f"L{i}", condition=c, disposition="restock") for i, c in enumerate(conditions)]
    settled = settle_inspection(lines, refund("40.00", deposit("4.00")), DEFAULT_POLICY)
    assert settled.refund.holds == [deposit("4.00", "released")]
    assert settled.refund.amount == Decimal("40.00")
    assert settled.note == ""


@pytest.mark.parametrize(
    ("liability", "condition"),
    [("customer", "damaged"), ("merchant", "damaged"), ("customer", "not_as_described"), ("merchant", "missing")],
)
def test_the_deposit_is_kept_when_any_item_came_back_worse_than_sold(liability, condition):
    lines = [
        returned("L1", condition="as_new", disposition="restock"),
        returned("L2", liability=liability, condition=condition, disposition="dispose"),
    ]
    settled = settle_inspection(lines, refund("40.00", deposit("4.00")), DEFAULT_POLICY)
    assert settled.refund.holds == [deposit("4.00", "kept")]
    deducted = sum((d.amount for d in settled.refund.deductions), Decimal(0))
    assert settled.refund.amount == Decimal("40.00") - deducted - Decimal("4.00")
    assert settled.note.endswith("deposit of 4.00 USD kept: items not as sold")


def test_a_deposit_already_released_or_kept_is_left_as_it_is():
    lines = [returned("L1", condition="damaged", disposition="dispose", liability="merchant")]
    before = refund("40.00", deposit("4.00", "released"), deposit("3.00", "kept"))
    settled = settle_inspection(lines, before, DEFAULT_POLICY)
    assert settled.refund.holds == before.holds
    assert settled.refund.amount == Decimal("40.00")
    assert settled.note == ""


@pytest.mark.parametrize(
    ("amount", "lines", "zero"),
    [
        ("5.00", [returned(condition="missing", disposition="dispose")], "0.00"),
        ("5.00", [returned(quantity=2, disposition="return_to_customer")], "0.00"),
        ("1.00", [returned(liability="merchant", condition="damaged", disposition="dispose")], "0.00"),
    ],
)
def test_the_refund_never_goes_below_zero(amount, lines, zero):
    settled = settle_inspection(lines, refund(amount, deposit("4.00")), DEFAULT_POLICY)
    assert str(settled.refund.amount) == zero


def test_settling_leaves_the_refund_it_was_given_unchanged():
    lines = [returned("L1", condition="damaged", disposition="liquidate")]
    before = refund("40.00", deposit("4.00"), fees=[Fee(kind="return_shipping", amount=Decimal("5.99"))])
    snapshot = before.model_dump()
    settled = settle_inspection(lines, before, DEFAULT_POLICY)
    assert before.model_dump() == snapshot
    assert settled.refund is not before
    assert settled.refund.holds[0] is not before.holds[0]
    assert settled.refund.fees == before.fees


# ---- properties -------------------------------------------------------------------------------------------------

CONDITIONS = [None, "as_new", "opened", "damaged", "not_as_described", "missing"]
DISPOSITIONS = [None, "restock", "refurbish", "liquidate", "dispose", "return_to_customer"]
CENTS = st.integers(0, 200_000).map(lambda cents: Decimal(cents).scaleb(-2))
PERCENT = st.decimals(min_value=0, max_value=100, places=1)
LINE = st.builds(
    lambda quantity, price, liability, condition, disposition: returned(
        quantity=quantity,
        unit_price=str(price),
        liability=liability,
        condition=condition,
        disposition=disposition,
    ),
    st.integers(1, 5),
    CENTS,
    st.sampled_from(["customer", "merchant"]),
    st.sampled_from(CONDITIONS),
    st.sampled_from(DISPOSITIONS),
)
HOLDS = st.lists(
    st.builds(
        lambda amount, status: Hold(amount=amount, status=status), CENTS, st.sampled_from(["held", "released", "kept"])
    ),
    max_size=2,
)
DEDUCTION_TABLES = st.dictionaries(st.sampled_from(CONDITIONS[1:]), PERCENT.map(str), max_size=5)


@PROPERTY
@given(lines=st.lists(LINE, min_size=1, max_size=4), amount=CENTS, holds=HOLDS, table=DEDUCTION_TABLES)
def test_the_settled_amount_is_always_between_zero_and_the_amount_before(lines, amount, holds, table):
    lines = [line.model_copy(update={"line_id": f"L{i}"}) for i, line in enumerate(lines)]
    before = refund(str(amount), *holds)
    settled = settle_inspection(lines, before, make_policy(condition_deduction_percent=table))
    assert Decimal(0) <= settled.refund.amount <= before.amount
    assert all(deduction.amount >= 0 for deduction in settled.refund.deductions)
    assert all(hold.status != "held" for hold in settled.refund.holds)  # every deposit is decided
    assert before.amount == amount and before.holds == holds  # the input is untouched
