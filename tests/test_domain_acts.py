"""Which acts a return takes now (domain/acts.py): the console's forms and the workflow's validators agree."""

from datetime import UTC, datetime

import pytest

from domain.acts import InspectionRefusal, OfferedActs, inspection_refusal, offered_acts, saga_stage
from domain.attention import Attention
from domain.returns import Status
from tests.factories import view_through as view

SINCE = datetime(2026, 3, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("steps", "offered"),
    [
        ((Status.REQUESTED, Status.UNDER_REVIEW), OfferedActs(review=True, cancel=True)),
        ((Status.REQUESTED, Status.APPROVED, Status.AWAITING_SHIPMENT), OfferedActs(cancel=True)),
        ((Status.REQUESTED, Status.APPROVED, Status.IN_TRANSIT), OfferedActs()),
        ((Status.REQUESTED, Status.APPROVED, Status.IN_TRANSIT, Status.RECEIVED), OfferedActs(inspect=True)),
        ((Status.REQUESTED, Status.APPROVED, Status.RECEIVED, Status.INSPECTED), OfferedActs()),
        ((Status.REQUESTED, Status.APPROVED, Status.COMPLETED), OfferedActs()),
        ((Status.REQUESTED, Status.UNDER_REVIEW, Status.REJECTED), OfferedActs()),
    ],
)
def test_each_step_offers_its_acts(steps: tuple[Status, ...], offered: OfferedActs) -> None:
    assert offered_acts(view(*steps)) == offered
    assert offered.any == (offered != OfferedActs())


def test_under_an_attention_the_step_below_decides_and_the_attentions_actions_are_offered() -> None:
    overdue = view(Status.REQUESTED, Status.APPROVED, Status.IN_TRANSIT, Status.RECEIVED, Status.NEEDS_ATTENTION)
    overdue.attention = Attention(reason="inspection_overdue", note="late", since=SINCE, actions=["extend_deadline"])
    assert saga_stage(overdue) == Status.RECEIVED
    assert offered_acts(overdue) == OfferedActs(inspect=True, resolve=["extend_deadline"])


def test_a_review_overdue_can_still_be_reviewed_or_cancelled() -> None:
    overdue = view(Status.REQUESTED, Status.UNDER_REVIEW, Status.NEEDS_ATTENTION)
    overdue.attention = Attention(
        reason="review_overdue", note="late", since=SINCE, actions=["extend_deadline", "cancel"]
    )
    assert offered_acts(overdue) == OfferedActs(review=True, cancel=True, resolve=["extend_deadline", "cancel"])


@pytest.mark.parametrize(
    ("steps", "refusal"),
    [
        ((Status.REQUESTED, Status.APPROVED, Status.IN_TRANSIT, Status.RECEIVED), None),
        ((Status.REQUESTED, Status.APPROVED, Status.AWAITING_SHIPMENT), "not_sent"),
        ((Status.REQUESTED, Status.UNDER_REVIEW), "not_sent"),
        ((Status.REQUESTED, Status.APPROVED, Status.IN_TRANSIT), "in_transit"),
        ((Status.REQUESTED, Status.APPROVED, Status.IN_TRANSIT, Status.COMPLETED), "ended"),
        ((Status.REQUESTED, Status.APPROVED, Status.CANCELED), "ended"),
    ],
)
def test_the_station_says_why_a_parcel_cannot_be_graded(
    steps: tuple[Status, ...], refusal: InspectionRefusal | None
) -> None:
    assert inspection_refusal(view(*steps)) == refusal


def test_a_graded_parcel_is_already_inspected_and_a_kept_item_never_ships() -> None:
    graded = view(Status.REQUESTED, Status.APPROVED, Status.RECEIVED, Status.INSPECTED)
    graded.lines[0].condition, graded.lines[0].disposition = "as_new", "restock"
    assert inspection_refusal(graded) == "already_inspected"
    assert inspection_refusal(view(Status.REQUESTED, Status.APPROVED, method="none")) == "nothing_ships_back"
