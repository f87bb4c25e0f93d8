"""What the queues sort by and show (domain/queues.py): since when in a status, the review deadline, time left."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from domain.attention import Attention
from domain.policy import DEFAULT_POLICY
from domain.queues import return_value, review_deadline, status_since, time_left
from domain.returns import Decision, Logistics, Refund, ReturnLine, ReturnView, Status, TimelineEntry

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def view(status: Status, timeline: list[tuple[Status, datetime]], **fields: object) -> ReturnView:
    return ReturnView.model_validate(
        {
            "id": "ret_queue",
            "order_id": "O-queue",
            "customer_id": "C-queue",
            "status": status,
            "lines": [
                ReturnLine(
                    line_id="L1", quantity=2, reason="defective", liability="merchant", unit_price=Decimal("19.99")
                ),
                ReturnLine(
                    line_id="L2", quantity=1, reason="size_fit", liability="customer", unit_price=Decimal("120.00")
                ),
            ],
            "decision": Decision(outcome="needs_review"),
            "logistics": Logistics(method="mail"),
            "refund": Refund(amount=Decimal("153.99"), currency="USD"),
            "timeline": [TimelineEntry(status=entry, at=at) for entry, at in timeline],
            "policy_version": 1,
            "created_at": START,
            "updated_at": START + timedelta(days=9),
            **fields,
        }
    )


def test_a_return_is_in_its_status_since_the_last_time_it_entered_it() -> None:
    entered = START + timedelta(hours=2)
    again = START + timedelta(hours=30)
    reviewed = view(
        Status.UNDER_REVIEW,
        [
            (Status.REQUESTED, START),
            (Status.UNDER_REVIEW, entered),
            (Status.NEEDS_ATTENTION, START + timedelta(hours=20)),
            (Status.UNDER_REVIEW, again),
        ],
    )
    assert status_since(reviewed) == again
    assert status_since(view(Status.RECEIVED, [])) == START + timedelta(days=9), "no timeline: the last update"


def test_a_return_that_needs_attention_waits_since_the_attention_began() -> None:
    since = START + timedelta(hours=50)
    attention = Attention(reason="review_overdue", note="no review within 48 hours", since=since, actions=["cancel"])
    stuck = view(Status.NEEDS_ATTENTION, [(Status.NEEDS_ATTENTION, START)], attention=attention)
    assert status_since(stuck) == since


def test_the_review_is_due_the_policys_sla_after_the_return_entered_review() -> None:
    entered = START + timedelta(hours=3)
    waiting = view(Status.UNDER_REVIEW, [(Status.REQUESTED, START), (Status.UNDER_REVIEW, entered)])
    assert review_deadline(waiting, DEFAULT_POLICY) == entered + timedelta(hours=48)
    quick = DEFAULT_POLICY.model_copy(update={"review_sla_hours": 4})
    assert review_deadline(waiting, quick) == entered + timedelta(hours=4)


def test_a_deadline_is_in_utc_whatever_zone_the_time_came_in() -> None:
    elsewhere = (START + timedelta(hours=3)).astimezone(timezone(timedelta(hours=8)))
    waiting = view(Status.UNDER_REVIEW, [(Status.UNDER_REVIEW, elsewhere)])
    deadline = review_deadline(waiting, DEFAULT_POLICY)
    assert deadline.tzinfo == UTC and deadline == START + timedelta(hours=51)


def test_time_left_counts_whole_minutes_and_goes_negative_once_past() -> None:
    deadline = START + timedelta(hours=5)
    assert time_left(deadline, START) == timedelta(hours=5)
    assert time_left(deadline, START + timedelta(hours=4, seconds=30)) == timedelta(minutes=59)
    assert time_left(deadline, deadline) == timedelta(0)
    assert time_left(deadline, deadline + timedelta(seconds=1)) == timedelta(minutes=-1), "a second late is late"
    assert time_left(deadline, deadline + timedelta(hours=2)) == timedelta(hours=-2)


def test_the_value_is_what_the_returned_units_cost() -> None:
    assert return_value(view(Status.UNDER_REVIEW, [])) == Decimal("159.98")
