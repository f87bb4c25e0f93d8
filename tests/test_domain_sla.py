"""When a return in each status counts as stuck (domain/sla.py): the hourly sweep's rule."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from domain.policy import DEFAULT_POLICY, Policy
from domain.returns import FINAL_STATUSES, Decision, Logistics, Refund, ReturnLine, ReturnView, Status
from domain.sla import (
    DECISION_LIMIT,
    PARTNER_STEP_LIMIT,
    TRANSIT_LIMIT,
    TRANSIT_SLA,
    is_overdue,
    sla_deadline,
)

SINCE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = DEFAULT_POLICY.model_copy(update={"review_sla_hours": 10, "inspection_sla_hours": 20, "ship_by_days": 7})


def view(status: Status, updated_at: datetime = SINCE, ship_by: datetime | None = None) -> ReturnView:
    return ReturnView(
        id="ret_sla",
        order_id="O-sla",
        customer_id="C-sla",
        status=status,
        lines=[
            ReturnLine(line_id="L1", quantity=1, reason="defective", liability="merchant", unit_price=Decimal("19.99"))
        ],
        decision=Decision(outcome="auto_approved"),
        logistics=Logistics(method="mail", ship_by=ship_by),
        refund=Refund(amount=Decimal("19.99"), currency="USD"),
        policy_version=1,
        created_at=updated_at,
        updated_at=updated_at,
    )


def test_the_transit_limit_is_a_day_past_the_workflows_transit_sla() -> None:
    assert TRANSIT_SLA.days == 30
    assert (TRANSIT_LIMIT - TRANSIT_SLA).days == 1
    assert (TRANSIT_LIMIT.days, PARTNER_STEP_LIMIT.days) == (31, 2)
    assert DECISION_LIMIT.total_seconds() == 3600


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        (Status.REQUESTED, DECISION_LIMIT),
        (Status.UNDER_REVIEW, timedelta(hours=2 * 10)),
        (Status.NEEDS_ATTENTION, timedelta(hours=2 * 10)),
        (Status.RECEIVED, timedelta(hours=2 * 20)),
        (Status.AWAITING_SHIPMENT, timedelta(days=7 + 1)),  # no ship-by date: the policy's days, and a day more
        (Status.IN_TRANSIT, TRANSIT_LIMIT),
        (Status.APPROVED, PARTNER_STEP_LIMIT),
        (Status.INSPECTED, PARTNER_STEP_LIMIT),
        (Status.REFUND_PENDING, PARTNER_STEP_LIMIT),
    ],
)
def test_each_open_status_has_its_deadline(status: Status, allowed: timedelta) -> None:
    assert sla_deadline(view(status), POLICY) == SINCE + allowed


@pytest.mark.parametrize("status", sorted(FINAL_STATUSES))
def test_an_ended_return_has_no_deadline(status: Status) -> None:
    assert sla_deadline(view(status), POLICY) is None


def test_every_status_is_covered() -> None:
    for status in Status:
        deadline = sla_deadline(view(status), POLICY)
        assert (deadline is None) == (status in FINAL_STATUSES), status


def test_a_ship_by_date_wins_over_the_policys_days() -> None:
    ship_by = SINCE + timedelta(days=3)
    assert sla_deadline(view(Status.AWAITING_SHIPMENT, ship_by=ship_by), POLICY) == ship_by + timedelta(days=1)
    naive = datetime(2026, 3, 4, 12, 0)
    assert sla_deadline(view(Status.AWAITING_SHIPMENT, ship_by=naive), POLICY) == ship_by + timedelta(days=1)


def test_the_review_deadline_follows_the_policy() -> None:
    strict = Policy(review_sla_hours=1)
    assert sla_deadline(view(Status.UNDER_REVIEW), strict) == SINCE + timedelta(hours=2)


def test_a_naive_time_is_taken_as_utc_and_any_zone_gives_the_same_utc_deadline() -> None:
    deadline = sla_deadline(view(Status.REQUESTED, updated_at=datetime(2026, 3, 1, 12, 0)), POLICY)
    assert deadline == SINCE + DECISION_LIMIT and deadline.tzinfo is UTC
    elsewhere = SINCE.astimezone(timezone(timedelta(hours=2)))  # the same moment, written in another zone
    assert sla_deadline(view(Status.REQUESTED, updated_at=elsewhere), POLICY) == deadline


def test_exactly_at_the_deadline_is_not_overdue_a_moment_later_is() -> None:
    deadline = sla_deadline(view(Status.IN_TRANSIT), POLICY)
    assert deadline is not None
    assert not is_overdue(deadline, deadline - timedelta(seconds=1))
    assert not is_overdue(deadline, deadline)
    assert is_overdue(deadline, deadline + timedelta(microseconds=1))
    assert not is_overdue(None, deadline + timedelta(days=365)), "an ended return is never overdue"
