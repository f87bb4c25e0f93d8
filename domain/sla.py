"""How long a return may stay in one status before it counts as stuck (the hourly sweep opens a ticket).

Each limit lies well past the point where the return's own workflow would have
moved it on or escalated it, so a ticket means the workflow did not.
"""

from datetime import datetime, timedelta

from domain.clock import as_utc
from domain.policy import Policy
from domain.returns import FINAL_STATUSES, ReturnView, Status

# The return workflow escalates a parcel still in transit this long after pickup.
TRANSIT_SLA = timedelta(days=30)
# A day more than that means it did not.
TRANSIT_LIMIT = TRANSIT_SLA + timedelta(days=1)
# A partner step (booking, refund) is retried for up to a day before the workflow escalates.
PARTNER_STEP_LIMIT = timedelta(days=2)
# A return stays "requested" only while its decision is being made.
DECISION_LIMIT = timedelta(hours=1)


def sla_deadline(view: ReturnView, policy: Policy) -> datetime | None:
    """When a return in its current status is overdue: well past the point where its own workflow
    would have moved it on or escalated. None for ended returns."""
    since = as_utc(view.updated_at)
    status = view.status
    if status in FINAL_STATUSES:
        return None
    if status == Status.REQUESTED:
        return since + DECISION_LIMIT
    if status in (Status.UNDER_REVIEW, Status.NEEDS_ATTENTION):
        return since + 2 * timedelta(hours=policy.review_sla_hours)
    if status == Status.RECEIVED:
        return since + 2 * timedelta(hours=policy.inspection_sla_hours)
    if status == Status.AWAITING_SHIPMENT:
        ship_by = view.logistics.ship_by
        return (as_utc(ship_by) if ship_by else since + timedelta(days=policy.ship_by_days)) + timedelta(days=1)
    if status == Status.IN_TRANSIT:
        return since + TRANSIT_LIMIT
    return since + PARTNER_STEP_LIMIT  # approved, inspected, refund_pending


def is_overdue(deadline: datetime | None, now: datetime) -> bool:
    """Past its deadline: strictly later than it (a return exactly at its deadline is not overdue yet)."""
    return deadline is not None and now > deadline
