"""When a return needs a person: why, since when, and the actions that lead on from there.

A return's workflow never ends while the return is not in a final status: each
problem below becomes an ``Attention`` on the return, with the actions that fit
it, and the workflow waits for a person to pick one (``POST /v1/returns/{id}/resolve``)
or for the awaited event itself (the review, the inspection, the parcel).
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from domain.orders import StrictModel
from domain.pickup_slots import PickupSlot

AttentionReason = Literal[
    "refund_failed",
    "review_overdue",
    "inspection_overdue",
    "transit_overdue",
    "carrier_exception",
    "compensation_failed",
    "pickup_missed",
    "booking_failed",
]
AttentionAction = Literal[
    "retry_refund",
    "refund_as_store_credit",
    "mark_refunded",
    "extend_deadline",
    "close_as_lost",
    "return_to_sender",
    "cancel",
    "retry_compensation",
    "mark_compensated",
    "rebook_pickup",
    "switch_to_drop_off",
    "retry_booking",
]

# What a person can do about each problem. The parcel's problems offer sending it back only while
# nothing has been refunded yet (see ``actions_for``).
_ACTIONS: dict[AttentionReason, tuple[AttentionAction, ...]] = {
    # The tender refused or the provider is down: try again, pay store credit, or record a payment
    # made outside returnflow (with its reference).
    "refund_failed": ("retry_refund", "refund_as_store_credit", "mark_refunded"),
    # The review itself (POST …/review) also resolves it.
    "review_overdue": ("extend_deadline", "cancel"),
    # The inspection itself (POST …/inspection) also resolves it.
    "inspection_overdue": ("extend_deadline",),
    # Wait longer, treat the parcel as lost (refund and close), or have the carrier take it back
    # to the customer (the return ends canceled, nothing is refunded).
    "transit_overdue": ("extend_deadline", "close_as_lost", "return_to_sender"),
    "carrier_exception": ("extend_deadline", "close_as_lost", "return_to_sender"),
    # An undo step failed while the return was stopping: run it again, or record that a person undid it.
    "compensation_failed": ("retry_compensation", "mark_compensated"),
    # No pickup scan by the booked slot's end: book another slot (given in the resolution), or let the
    # customer hand the parcel in at a counter instead.
    "pickup_missed": ("rebook_pickup", "switch_to_drop_off"),
    # The carrier refused the return's booking, or did not answer for a day: try the same booking again,
    # book a pickup in a slot it offers, have the customer hand the parcel in at a counter, or cancel.
    "booking_failed": ("retry_booking", "rebook_pickup", "switch_to_drop_off", "cancel"),
}

# The actions that must say what happened outside returnflow.
NEEDS_REFERENCE: frozenset[AttentionAction] = frozenset({"mark_refunded"})


def actions_for(reason: AttentionReason, *, refunded: bool = False, in_transit: bool = True) -> list[AttentionAction]:
    """The actions offered now for ``reason``.

    ``refunded``: money already went back (a parcel then cannot be sent back to the
    customer instead). ``in_transit``: the parcel has been picked up (before that, a
    carrier exception cannot be closed as lost).
    """
    offered = list(_ACTIONS[reason])
    if reason in ("transit_overdue", "carrier_exception"):
        if refunded:
            offered.remove("return_to_sender")
        if not in_transit:
            offered = ["extend_deadline", "cancel"]
    return offered


class Attention(BaseModel):
    """What the Return shows while a person must act (``attention`` is null otherwise)."""

    reason: AttentionReason
    note: str
    since: datetime
    actions: list[AttentionAction]


class Resolution(StrictModel):
    """The body of ``POST /v1/returns/{id}/resolve``."""

    action: AttentionAction
    note: str = Field("", max_length=2000)
    reference: str = Field(
        "", max_length=200, description="Required with mark_refunded: the payment made outside returnflow."
    )
    pickup_slot: PickupSlot | None = Field(
        None, description="Required with rebook_pickup: the new slot, one of GET /v1/pickup-slots."
    )


def resolution_problem(attention: Attention | None, resolution: Resolution) -> str | None:
    """Why ``resolution`` cannot be carried out now (a 409), or None when it can."""
    if attention is None:
        return "the return needs no action now"
    if resolution.action not in attention.actions:
        offered = ", ".join(attention.actions)
        return f"{resolution.action} is not offered for {attention.reason} (offered: {offered})"
    return None


def missing_reference(resolution: Resolution) -> bool:
    """An action that records something done elsewhere must say what (a 422)."""
    return resolution.action in NEEDS_REFERENCE and not resolution.reference.strip()


def pickup_slot_error(resolution: Resolution, now: datetime) -> dict[str, str] | None:
    """Rebooking a pickup must say when the courier comes, and that must be ahead (a 422 on the field)."""
    if resolution.action != "rebook_pickup":
        return None
    if resolution.pickup_slot is None:
        return {"field": "pickup_slot", "code": "pickup_slot_required", "message": "give the new pickup slot"}
    if resolution.pickup_slot.start <= now:
        return {"field": "pickup_slot", "code": "pickup_slot_unavailable", "message": "the slot is in the past"}
    return None
