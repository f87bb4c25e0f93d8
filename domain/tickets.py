"""Tickets: what kinds of work for a person exist, and the key that opens each at most once."""

from typing import Literal

TicketKind = Literal[
    "refund_failed",
    "reconciliation",
    "sla_breach",
    "dispute",
    # A survey answered with a low score (domain/surveys.py): customer service follows up.
    "negative_feedback",
    "compensation_failed",
    "workflow_ended",
    # A return's other attentions (domain/attention.py): each opens a ticket of its reason.
    "review_overdue",
    "inspection_overdue",
    "transit_overdue",
    "carrier_exception",
    "pickup_missed",
    "booking_failed",
]


def refund_failed_key(return_id: str) -> str:
    return f"refund_failed:{return_id}"


def compensation_failed_key(return_id: str) -> str:
    return f"compensation_failed:{return_id}"


def dispute_key(return_id: str) -> str:
    return f"dispute:{return_id}"


def negative_feedback_key(return_id: str) -> str:
    return f"negative_feedback:{return_id}"


def attention_key(return_id: str, number: int) -> str:
    """The ticket of a return's ``number``-th attention (a return can need a person more than once)."""
    return f"attention:{return_id}:{number}"
