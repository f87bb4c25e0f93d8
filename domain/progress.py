"""A return's progress as a row of nodes: requested → approved → picked up → received → inspected → refunded.

This is the progress bar of ``GET /v1/returns/{id}/progress`` (CONTRACT.md) and of the
console's return page, read off the view alone. The row follows the return's own path:
a return that ships nothing back (virtual goods, an item the customer keeps, an order
cancelled before shipment, a refund-only claim) has no parcel nodes; an exchange ends
``replacement_shipped``, reached when its timeline records the shipment; a return that
stopped (rejected, canceled, expired) ends with that node and the steps it never reached
are ``skipped``. The steps reached come first, in the path's order, then
the others: a refund paid at the first scan shows done before ``received``.

``current`` is the step the return is working towards now (the first not reached), so
a return waiting for review shows ``approved`` as current.
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from domain.returns import FINAL_STATUSES, ReturnView, Status

ProgressKey = Literal[
    "requested",
    "approved",
    "picked_up",
    "received",
    "inspected",
    "refunded",
    "replacement_shipped",
    "rejected",
    "canceled",
    "expired",
]
ProgressState = Literal["done", "current", "upcoming", "skipped"]

LABELS: dict[ProgressKey, str] = {
    "requested": "Requested",
    "approved": "Approved",
    "picked_up": "Picked up",
    "received": "Received",
    "inspected": "Inspected",
    "refunded": "Refunded",
    "replacement_shipped": "Replacement shipped",
    "rejected": "Rejected",
    "canceled": "Canceled",
    "expired": "Expired",
}
# The timeline note the workflow writes when an exchange's replacement leaves the warehouse.
REPLACEMENT_SHIPPED_NOTE = "replacement shipped"
# The timeline status that marks each step as reached.
_REACHED_AT: dict[ProgressKey, Status] = {
    "requested": Status.REQUESTED,
    "approved": Status.APPROVED,
    "picked_up": Status.IN_TRANSIT,
    "received": Status.RECEIVED,
    "inspected": Status.INSPECTED,
}
_STOPPED: dict[Status, ProgressKey] = {
    Status.REJECTED: "rejected",
    Status.CANCELED: "canceled",
    Status.EXPIRED: "expired",
}


class ProgressNode(BaseModel):
    key: ProgressKey
    label: str
    state: ProgressState
    at: datetime | None = None


def _path(view: ReturnView) -> list[ProgressKey]:
    parcel: list[ProgressKey] = ["picked_up", "received", "inspected"] if view.logistics.method != "none" else []
    ending: ProgressKey = "replacement_shipped" if view.type == "exchange" else "refunded"
    return ["requested", "approved", *parcel, ending]


def _reached(view: ReturnView, path: list[ProgressKey]) -> dict[ProgressKey, datetime | None]:
    """The steps done, with when (a refund paid before the return completed has no time of its own)."""
    first: dict[Status, datetime] = {}
    for entry in view.timeline:
        first.setdefault(entry.status, entry.at)
    reached: dict[ProgressKey, datetime | None] = {
        key: first[status] for key in path if (status := _REACHED_AT.get(key)) is not None and status in first
    }
    ending = path[-1]
    shipped = [entry.at for entry in view.timeline if entry.note.startswith(REPLACEMENT_SHIPPED_NOTE)]
    if ending == "replacement_shipped" and shipped:
        reached[ending] = shipped[0]
    elif Status.COMPLETED in first:
        reached[ending] = first[Status.COMPLETED]
    elif ending == "refunded" and view.refund.status == "succeeded":
        reached[ending] = None
    return reached


def progress(view: ReturnView) -> list[ProgressNode]:
    path = _path(view)
    reached = _reached(view, path)
    nodes = [ProgressNode(key=key, label=LABELS[key], state="done", at=at) for key, at in reached.items()]
    nodes.sort(key=lambda node: path.index(node.key))
    stopped = _STOPPED.get(view.status)
    if stopped is not None:
        at = max((entry.at for entry in view.timeline if entry.status == view.status), default=view.updated_at)
        nodes.append(ProgressNode(key=stopped, label=LABELS[stopped], state="done", at=at))
    ended = view.status in FINAL_STATUSES
    for key in path:
        if key in reached:
            continue
        upcoming = any(node.state == "current" for node in nodes)
        state: ProgressState = "skipped" if ended else "upcoming" if upcoming else "current"
        nodes.append(ProgressNode(key=key, label=LABELS[key], state=state))
    return nodes
