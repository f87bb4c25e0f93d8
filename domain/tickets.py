"""Tickets: what kinds of work for a person exist, and the key that opens each at most once."""

from typing import Literal

TicketKind = Literal[
    "refund_failed", "reconciliation", "sla_breach", "dispute", "compensation_failed", "workflow_ended"
]


def refund_failed_key(return_id: str) -> str:
    return f"refund_failed:{return_id}"


def dispute_key(return_id: str) -> str:
    return f"dispute:{return_id}"
