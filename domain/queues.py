"""What the operators' queues sort by and show, read off a return's view.

Every queue puts urged returns (priority ``high``) first, then the one that has waited
longest in its status. In the review queue that is also the order of the SLA deadlines:
a deadline is the moment the return entered review plus its policy's ``review_sla_hours``,
so among returns under one SLA the first in is the first due (a policy that changes the
SLA reorders only the returns in review across the change).
"""

from datetime import datetime, timedelta
from decimal import Decimal

from domain.clock import as_utc
from domain.policy import Policy
from domain.returns import ReturnView, Status


def status_since(view: ReturnView) -> datetime:
    """When the return came to show its current status: the attention's start while a person must act,
    else the latest timeline entry of that status (the last update when the timeline has none)."""
    if view.status == Status.NEEDS_ATTENTION and view.attention is not None:
        return view.attention.since
    entered = [entry.at for entry in view.timeline if entry.status == view.status]
    return max(entered) if entered else view.updated_at


def review_deadline(view: ReturnView, policy: Policy) -> datetime:
    """When the review is due: entering review plus the SLA of ``policy`` (the return's own version)."""
    return as_utc(status_since(view)) + timedelta(hours=policy.review_sla_hours)


def time_left(deadline: datetime, now: datetime) -> timedelta:
    """What remains until ``deadline`` (negative once it has passed), to the minute."""
    remaining = as_utc(deadline) - as_utc(now)
    return timedelta(minutes=remaining // timedelta(minutes=1))


def return_value(view: ReturnView) -> Decimal:
    """What the returned goods are worth: what the auto-approval limit is weighed against."""
    return sum((line.unit_price * line.quantity for line in view.lines), Decimal(0))
