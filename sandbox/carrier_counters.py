"""The sandbox carrier's counters: where a drop-off return is handed in, and the scan of its QR code there.

Scanning a drop-off token (``POST /carrier/drop-offs``) is the parcel's first scan: the carrier
posts a signed ``picked_up`` event to the webhook subscribed with ``PUT /carrier/webhook`` (returnflow's
``/v1/carrier-events``), as a real carrier reports its scans.
"""

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from domain.signing import sign
from sandbox.carrier import DROP_OFF_TOKENS, TABLE
from sandbox.common import get_faults, get_store, utc_now
from sandbox.errors import SandboxError, not_found
from sandbox.state import Store

WEBHOOKS = "carrier_webhooks"
SUBSCRIPTION = "events"
NEAREST = 3

log = structlog.get_logger()
router = APIRouter(prefix="/carrier", tags=["carrier"])

# The counters of the sandbox's network, with the postal code each stands in.
COUNTERS = (
    {"point_id": "dp_springfield_main", "name": "Main Street Post", "address": "12 Main St", "postal_code": "12345"},
    {"point_id": "dp_springfield_mall", "name": "Springfield Mall", "address": "1 Mall Rd", "postal_code": "12350"},
    {"point_id": "dp_shelbyville", "name": "Shelbyville Depot", "address": "8 Depot Ave", "postal_code": "12400"},
    {"point_id": "dp_capital", "name": "Capital City Parcel Shop", "address": "99 Plaza", "postal_code": "20001"},
    {"point_id": "dp_ogdenville", "name": "Ogdenville Grocer", "address": "4 Elm St", "postal_code": "13000"},
)


class WebhookIn(BaseModel):
    url: str = Field(min_length=1, max_length=2000)
    secret: str = Field(min_length=1, max_length=500)


class DropOffIn(BaseModel):
    token: str = Field(min_length=1, max_length=200)


def _distance(postal_code: str, other: str) -> int:
    """How far apart two postal codes are, as the sandbox reckons it (numerically)."""
    digits = "".join(ch for ch in postal_code if ch.isdigit())
    return abs(int(digits or 0) - int(other))


@router.get("/drop-off-points")
async def drop_off_points(request: Request, postal_code: str, country: str = "US") -> dict[str, list[dict[str, Any]]]:
    """The ``NEAREST`` counters to ``postal_code``, nearest first."""
    await get_faults(request).apply("carrier.drop_off_points")
    nearest = sorted(COUNTERS, key=lambda point: _distance(postal_code, point["postal_code"]))[:NEAREST]
    return {"items": [{**point, "country": country} for point in nearest]}


def subscribe_webhook(store: Store, url: str, secret: str) -> None:
    """Where the carrier posts its scans, and the secret it signs them with (one subscription)."""
    with store.transaction():
        if store.get(WEBHOOKS, SUBSCRIPTION) is None:
            store.insert(WEBHOOKS, SUBSCRIPTION, {"url": url, "secret": secret})
        else:
            store.update(WEBHOOKS, SUBSCRIPTION, {"url": url, "secret": secret})


@router.put("/webhook")
async def subscribe(body: WebhookIn, request: Request) -> dict[str, str]:
    subscribe_webhook(get_store(request), body.url, body.secret)
    return {"url": body.url}


@router.post("/drop-offs", status_code=201)
async def hand_in(body: DropOffIn, request: Request) -> dict[str, Any]:
    """A counter scans the QR code the customer shows: the parcel is in the carrier's hands."""
    await get_faults(request).apply("carrier.drop_off")
    store = get_store(request)
    with store.transaction():
        token = store.get(DROP_OFF_TOKENS, body.token)
        shipment = store.get(TABLE, token["tracking_number"]) if token else None
        if shipment is None:
            raise not_found("drop-off code")
        if shipment["status"] == "canceled":
            raise SandboxError(409, "shipment_canceled", "this return's shipment was canceled")
        shipment.update(status="handed_in", handed_in_at=shipment.get("handed_in_at") or utc_now())
        store.update(TABLE, shipment["tracking_number"], shipment)
    reported = await _report(request, shipment["tracking_number"], "picked_up")
    log.info("sandbox_drop_off_scanned", tracking_number=shipment["tracking_number"], reported=reported)
    return {"tracking_number": shipment["tracking_number"], "event": "picked_up", "reported": reported}


async def _report(request: Request, tracking_number: str, event: str) -> bool:
    """Post the scan, signed, to the subscribed webhook; False when none is subscribed or it refused."""
    subscription = get_store(request).get(WEBHOOKS, SUBSCRIPTION)
    if subscription is None:
        return False
    occurred_at = datetime.now(UTC).isoformat()
    content = json.dumps({"tracking_number": tracking_number, "event": event, "occurred_at": occurred_at}).encode()
    signature = sign(subscription["secret"].encode(), int(datetime.now(UTC).timestamp()), content)
    headers = {"Content-Type": "application/json", "Carrier-Signature": signature}
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(subscription["url"], content=content, headers=headers)
    except httpx.HTTPError as error:
        log.info("sandbox_carrier_event_failed", tracking_number=tracking_number, error=str(error))
        return False
    return response.is_success
