"""Pickup slots: the window a courier comes in, whether a requested one can be booked, and when a
booked one counts as missed."""

from datetime import datetime, timedelta

from pydantic import model_validator

from domain.orders import StrictModel
from domain.wire import Timestamp

# A courier running late still counts: the slot is missed only this long after it ended with no pickup scan.
PICKUP_GRACE = timedelta(hours=2)


class PickupSlot(StrictModel):
    start: Timestamp
    end: Timestamp

    @model_validator(mode="after")
    def _ordered(self) -> "PickupSlot":
        if self.end <= self.start:
            raise ValueError("a pickup slot must end after it starts")
        return self


def slot_problem(slot: PickupSlot, offered: list[PickupSlot], now: datetime) -> str | None:
    """Why ``slot`` cannot be booked (in words), or None when the carrier offers it and it is ahead."""
    if slot.start <= now:
        return "the pickup slot has already begun or is in the past"
    if not any(slot.start == option.start and slot.end == option.end for option in offered):
        return "the carrier does not offer this pickup slot; choose one of GET /v1/pickup-slots"
    return None


def missed_after(slot: PickupSlot) -> datetime:
    """When a booked slot with no pickup scan counts as missed."""
    return slot.end + PICKUP_GRACE
