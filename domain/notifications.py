"""What a customer notification may say about a return."""

from typing import Any


def notification_data(view: dict[str, Any]) -> dict[str, Any]:
    """What a message template may use: the return's facts, no personal data."""
    refund, logistics = view.get("refund") or {}, view.get("logistics") or {}
    hold = (view.get("exchange") or {}).get("hold")
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
        # What the customer was given for a missed deadline, the newest last (its message names that one).
        "compensations": view.get("compensations") or [],
    }
