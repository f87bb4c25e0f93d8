"""What a customer is told about a return: which statuses, once each, and what a message may say.

A customer hears about the statuses that concern them (``STATUS_NOTIFICATIONS``) and about a
compensation issued to them (``NotificationKind.COMPENSATION_ISSUED``), each at most once
(``once_key``): a return that goes back to ``in_transit`` after an attention is not announced
in transit twice. The messages themselves are in ``domain/notification_templates.py``.
"""

from enum import StrEnum
from typing import Any

from domain.returns import FINAL_STATUSES, Status


class NotificationKind(StrEnum):
    APPROVED = "approved"
    AWAITING_SHIPMENT = "awaiting_shipment"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    REFUND_PENDING = "refund_pending"
    NEEDS_ATTENTION = "needs_attention"  # "we are looking into it"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELED = "canceled"
    EXPIRED = "expired"
    # A coupon or points given for a missed SLA (the view's newest ``compensations`` entry).
    COMPENSATION_ISSUED = "compensation_issued"


# The statuses a customer hears about; the others (requested, under_review, inspected) are internal steps.
STATUS_NOTIFICATIONS: dict[Status, NotificationKind] = {
    Status.APPROVED: NotificationKind.APPROVED,
    Status.AWAITING_SHIPMENT: NotificationKind.AWAITING_SHIPMENT,
    Status.IN_TRANSIT: NotificationKind.IN_TRANSIT,
    Status.RECEIVED: NotificationKind.RECEIVED,
    Status.REFUND_PENDING: NotificationKind.REFUND_PENDING,
    Status.NEEDS_ATTENTION: NotificationKind.NEEDS_ATTENTION,
    Status.COMPLETED: NotificationKind.COMPLETED,
    Status.REJECTED: NotificationKind.REJECTED,
    Status.CANCELED: NotificationKind.CANCELED,
    Status.EXPIRED: NotificationKind.EXPIRED,
}
# The messages of an ended return carry the survey link.
SURVEY_INVITATIONS = frozenset(STATUS_NOTIFICATIONS[status] for status in FINAL_STATUSES)


def once_key(return_id: str, kind: NotificationKind, occurrence: str = "") -> str:
    """What makes a notification unique: a status is told once per return; a compensation once per
    ``occurrence`` (its idempotency key), since one return may be compensated for several breaches."""
    return f"{return_id}:{kind.value}" + (f":{occurrence}" if occurrence else "")


def template_name(kind: NotificationKind) -> str:
    """The name the notifications partner knows the message by, e.g. ``return_approved``."""
    return f"return_{kind.value}"


def tracking_url(site_url: str, return_id: str, link_token: str = "") -> str:
    """The customer's tracking page of a return (where the survey is answered too); with ``link_token``
    (``domain/tracking_links.py``) it opens without a login."""
    page = f"{site_url.rstrip('/')}/track/{return_id}"
    return f"{page}?token={link_token}" if link_token else page


def notification_data(view: dict[str, Any]) -> dict[str, Any]:
    """What a message template may use: the return's facts, no personal data."""
    refund, logistics = view.get("refund") or {}, view.get("logistics") or {}
    hold = (view.get("exchange") or {}).get("hold")
    compensations = view.get("compensations") or []
    return {
        "return_id": view.get("id"),
        "order_id": view.get("order_id"),
        "status": view.get("status"),
        "refund": {"amount": refund.get("amount"), "currency": refund.get("currency"), "method": refund.get("method")},
        "logistics": {
            key: logistics.get(key) for key in ("method", "carrier", "tracking_number", "label_url", "ship_by")
        },
        # An instant exchange's hold: an expired return's message says it was captured.
        "exchange_hold": {"amount": hold.get("amount"), "status": hold.get("status")} if hold else None,
        "compensation": {key: compensations[-1].get(key) for key in ("kind", "amount", "code")}
        if compensations
        else None,
    }


def message_facts(kind: NotificationKind, data: dict[str, Any], site_url: str, link_token: str = "") -> dict[str, str]:
    """The words a template fills in (``notification_data`` flattened), with the tracking and survey links
    (carrying ``link_token``, so the customer needs no login to open them)."""
    refund = data["refund"]
    compensation = data.get("compensation") or {}
    link = tracking_url(site_url, str(data["return_id"]), link_token)
    facts = {
        "return_id": data["return_id"],
        "order_id": data["order_id"],
        "tracking_url": link,
        "refund_amount": refund.get("amount"),
        "currency": refund.get("currency"),
        "compensation_kind": compensation.get("kind"),
        "compensation_amount": compensation.get("amount"),
        "compensation_code": compensation.get("code"),
        "survey_url": f"{link}#survey" if kind in SURVEY_INVITATIONS else None,
    }
    return {name: str(value) for name, value in facts.items() if value is not None}
