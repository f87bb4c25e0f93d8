"""A customer's urge: at most once a day, and what it does to the deadline the return waits on.

The workflow keeps when the return was last urged and asks ``urge_wait`` before it
accepts another; the API answers 429 with ``Retry-After`` from the refusal.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel

URGE_INTERVAL = timedelta(hours=24)


def urge_wait(last_urged_at: datetime | None, now: datetime) -> timedelta | None:
    """How long the customer must wait before urging again; None when an urge is welcome now."""
    if last_urged_at is None:
        return None
    left = last_urged_at + URGE_INTERVAL - now
    return left if left > timedelta(0) else None


def hurried_deadline(deadline: datetime, now: datetime, factor: Decimal) -> datetime:
    """The deadline after an urge: the time still left, times the policy's ``urge_sla_factor``.

    A deadline already past stays where it is (the attention it leads to is open or about to be).
    """
    left = deadline - now
    if left <= timedelta(0):
        return deadline
    return now + timedelta(seconds=int(left.total_seconds() * float(factor)))


class Urge(BaseModel):
    """Who urged the return: the customer themself, or the shop's backend on their behalf."""

    by: Literal["customer", "service"] = "customer"
