"""The rules of urging and of SLA compensation."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.policy import DEFAULT_POLICY, Policy
from domain.sla_compensation import CompensationOffer, ledger_unit
from domain.urging import URGE_INTERVAL, hurried_deadline, urge_wait

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_a_return_never_urged_may_be_urged() -> None:
    assert urge_wait(None, NOW) is None


def test_a_second_urge_waits_for_the_rest_of_the_day() -> None:
    assert urge_wait(NOW - timedelta(hours=20), NOW) == timedelta(hours=4)
    assert urge_wait(NOW - URGE_INTERVAL, NOW) is None
    assert urge_wait(NOW - timedelta(days=3), NOW) is None


def test_an_urge_multiplies_the_time_left_by_the_factor() -> None:
    assert hurried_deadline(NOW + timedelta(hours=40), NOW, Decimal("0.5")) == NOW + timedelta(hours=20)
    assert hurried_deadline(NOW + timedelta(hours=40), NOW, Decimal("1")) == NOW + timedelta(hours=40)


def test_a_deadline_already_past_stays_where_it_is() -> None:
    assert hurried_deadline(NOW - timedelta(hours=1), NOW, Decimal("0.5")) == NOW - timedelta(hours=1)


def test_by_default_an_urge_moves_no_deadline_and_nothing_is_compensated() -> None:
    assert DEFAULT_POLICY.urge_sla_factor == 1
    assert DEFAULT_POLICY.sla_compensation == {}


@pytest.mark.parametrize("factor", ["1.5", "-0.5"])
def test_the_urge_factor_lies_between_zero_and_one(factor: str) -> None:
    with pytest.raises(ValidationError):
        Policy(urge_sla_factor=Decimal(factor))


def test_compensation_is_named_per_attention_reason_with_a_positive_amount() -> None:
    policy = Policy.model_validate({"sla_compensation": {"review_overdue": {"kind": "points", "amount": "200"}}})
    assert policy.sla_compensation["review_overdue"] == CompensationOffer(kind="points", amount=Decimal("200"))
    with pytest.raises(ValidationError):
        Policy.model_validate({"sla_compensation": {"lunch_overdue": {"kind": "coupon", "amount": "5"}}})
    with pytest.raises(ValidationError):
        Policy.model_validate({"sla_compensation": {"review_overdue": {"kind": "coupon", "amount": "0"}}})


def test_a_coupon_is_recorded_in_the_orders_currency_points_as_points() -> None:
    assert ledger_unit(CompensationOffer(kind="coupon", amount=Decimal("5")), "EUR") == "EUR"
    assert ledger_unit(CompensationOffer(kind="points", amount=Decimal("200")), "EUR") == "PTS"
