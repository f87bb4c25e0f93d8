"""Which pickup slots can be booked, when a booked one counts as missed, and what rebooking needs."""

from datetime import UTC, datetime, timedelta

from domain.attention import Resolution, actions_for, pickup_slot_error
from domain.pickup_slots import PICKUP_GRACE, PickupSlot, missed_after, slot_problem

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def window(hours_ahead: int) -> PickupSlot:
    return PickupSlot(start=NOW + timedelta(hours=hours_ahead), end=NOW + timedelta(hours=hours_ahead + 4))


OFFERED = [window(25), window(29)]


def test_an_offered_slot_ahead_can_be_booked() -> None:
    assert slot_problem(window(25), OFFERED, NOW) is None


def test_a_slot_in_the_past_or_not_offered_cannot() -> None:
    assert "past" in (slot_problem(window(-30), [*OFFERED, window(-30)], NOW) or "")
    assert "does not offer" in (slot_problem(window(26), OFFERED, NOW) or "")
    assert slot_problem(window(25), [], NOW) is not None  # no address, no slots


def test_a_slot_is_missed_only_after_its_grace_period() -> None:
    assert missed_after(window(25)) == NOW + timedelta(hours=29) + PICKUP_GRACE


def test_a_missed_pickup_is_rebooked_with_a_slot_ahead_or_becomes_a_drop_off() -> None:
    assert actions_for("pickup_missed") == ["rebook_pickup", "switch_to_drop_off"]
    ahead = window(25).model_dump(mode="json")
    assert pickup_slot_error(Resolution.model_validate({"action": "rebook_pickup", "pickup_slot": ahead}), NOW) is None
    missing = pickup_slot_error(Resolution(action="rebook_pickup"), NOW)
    assert missing is not None and missing["code"] == "pickup_slot_required"
    past = window(-10).model_dump(mode="json")
    late = pickup_slot_error(Resolution.model_validate({"action": "rebook_pickup", "pickup_slot": past}), NOW)
    assert late is not None and late["code"] == "pickup_slot_unavailable"
    assert pickup_slot_error(Resolution(action="switch_to_drop_off"), NOW) is None
