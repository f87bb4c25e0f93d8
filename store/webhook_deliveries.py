"""Webhook deliveries: one per event and subscribed endpoint, sent signed until delivered or dead.

A signed delivery is ``POST <url>`` with the body ``{"id", "type", "created_at",
"data"}`` (``event_body``) and ``Returnflow-Signature: t=<unix>,v1=<hex
HMAC-SHA256(secret, "<t>.<body>")>`` (``domain/signing.py``); ``verify_signature``
is the recipe a receiver follows. A failed attempt is retried after a backoff
(``backoff``) until the event is ``give_up_after`` old: then the delivery is dead
(a dead letter, listed for operators).
"""

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import signing
from domain.signing import SignatureCheck
from store.cursor import decode_keyset, encode_keyset
from store.db import as_utc
from store.tables import OutboxEvent, WebhookDelivery, WebhookEndpoint

SIGNATURE_HEADER = "Returnflow-Signature"
EVENT_ID_HEADER = "Returnflow-Event-Id"
# Backoff between failed attempts: 30 s, 1 min, 2 min, … at most an hour, ±10 % jitter.
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)


def event_body(event: OutboxEvent) -> bytes:
    """The exact bytes POSTed (and signed) for an event."""
    document = {
        "id": event.id,
        "type": event.type,
        "created_at": as_utc(event.created_at).isoformat().replace("+00:00", "Z"),
        "data": event.payload,
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Returnflow-Signature`` header value for ``body`` sent at ``timestamp`` (unix seconds)."""
    return signing.sign(secret.encode(), timestamp, body)


def verify_signature(
    secret: str, header: str, body: bytes, now: datetime | None = None, tolerance: timedelta = timedelta(minutes=5)
) -> bool:
    """What a receiver does (``domain/signing.py``): recompute the HMAC over ``"<t>.<raw body>"``, compare in
    constant time, and refuse a timestamp too far from its own clock (a replayed request)."""
    moment = now or datetime.now(UTC)
    return signing.verify(secret.encode(), header, body, moment.timestamp(), tolerance) is SignatureCheck.VALID


def backoff(failed_attempts: int, rng: random.Random | None = None) -> timedelta:
    """How long to wait after the ``failed_attempts``-th failure: 30 s doubling, capped at an hour, ±10 %."""
    exponent = max(failed_attempts - 1, 0)
    delay = LONGEST_RETRY if exponent > 16 else min(FIRST_RETRY * 2**exponent, LONGEST_RETRY)
    return delay * (rng or random).uniform(0.9, 1.1)


@dataclass(frozen=True)
class DueDelivery:
    event_id: str
    endpoint_id: str
    url: str
    encrypted_secret: str  # store.webhook_endpoints.unseal_secret opens it
    body: bytes
    event_created_at: datetime
    attempts: int


async def due_deliveries(session: AsyncSession, now: datetime, limit: int) -> list[DueDelivery]:
    """Pending deliveries whose time has come, oldest first, to active endpoints."""
    rows = (
        await session.execute(
            select(WebhookDelivery, OutboxEvent, WebhookEndpoint)
            .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(
                WebhookDelivery.state == "pending",
                WebhookDelivery.next_attempt_at <= now,
                WebhookEndpoint.disabled_at.is_(None),
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.event_id)
            .limit(limit)
        )
    ).all()
    return [
        DueDelivery(
            event_id=delivery.event_id,
            endpoint_id=delivery.endpoint_id,
            url=endpoint.url,
            encrypted_secret=endpoint.encrypted_secret,
            body=event_body(event),
            event_created_at=as_utc(event.created_at),
            attempts=delivery.attempts,
        )
        for delivery, event, endpoint in rows
    ]


async def record_attempt(
    session: AsyncSession, due: DueDelivery, *, error: str | None, now: datetime, give_up_after: timedelta
) -> str:
    """Write the outcome of one attempt; returns the delivery's new state (delivered, pending or dead)."""
    attempts = due.attempts + 1
    values: dict[str, Any]
    if error is None:
        values = dict(state="delivered", attempts=attempts, delivered_at=now, last_error=None)
    elif now >= due.event_created_at + give_up_after:
        values = dict(state="dead", attempts=attempts, last_error=error[:1000])
    else:
        values = dict(
            state="pending", attempts=attempts, last_error=error[:1000], next_attempt_at=now + backoff(attempts)
        )
    # Only a still-pending row changes: a delivery dropped meanwhile (endpoint deleted) stays dropped.
    await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.event_id == due.event_id,
            WebhookDelivery.endpoint_id == due.endpoint_id,
            WebhookDelivery.state == "pending",
        )
        .values(**values)
    )
    return str(values["state"])


def delivery_id(event_id: str, endpoint_id: str) -> str:
    """A delivery's id in the API: its event's id and its endpoint's (``evt_….whe_…``), neither has a dot."""
    return f"{event_id}.{endpoint_id}"


class DeliveryView(BaseModel):
    id: str
    event_id: str
    event_type: str
    return_id: str | None
    endpoint_id: str
    url: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    delivered_at: datetime | None
    event_created_at: datetime


async def list_deliveries(
    session: AsyncSession, state: str | None, endpoint_id: str | None, limit: int, cursor: str | None
) -> tuple[list[DeliveryView], str | None]:
    """Deliveries, newest event first (keyset on the event's created_at, event id, endpoint id)."""
    query = (
        select(WebhookDelivery, OutboxEvent, WebhookEndpoint)
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
    )
    if state:
        query = query.where(WebhookDelivery.state == state)
    if endpoint_id:
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    if cursor:
        after, [event_id, after_endpoint] = decode_keyset(cursor, ids=2)
        query = query.where(
            or_(
                OutboxEvent.created_at < after,
                and_(OutboxEvent.created_at == after, WebhookDelivery.event_id < event_id),
                and_(
                    OutboxEvent.created_at == after,
                    WebhookDelivery.event_id == event_id,
                    WebhookDelivery.endpoint_id < after_endpoint,
                ),
            )
        )
    rows = (
        await session.execute(
            query.order_by(
                OutboxEvent.created_at.desc(), WebhookDelivery.event_id.desc(), WebhookDelivery.endpoint_id.desc()
            ).limit(limit + 1)
        )
    ).all()
    page = rows[:limit]
    items = [_delivery_view(delivery, event, endpoint) for delivery, event, endpoint in page]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_keyset(last.event_created_at, last.event_id, last.endpoint_id)
    return items, next_cursor


def _delivery_view(delivery: WebhookDelivery, event: OutboxEvent, endpoint: WebhookEndpoint) -> DeliveryView:
    return DeliveryView(
        id=delivery_id(delivery.event_id, delivery.endpoint_id),
        event_id=delivery.event_id,
        event_type=event.type,
        return_id=event.return_id,
        endpoint_id=delivery.endpoint_id,
        url=endpoint.url,
        state=delivery.state,
        attempts=delivery.attempts,
        next_attempt_at=as_utc(delivery.next_attempt_at) if delivery.state == "pending" else None,
        last_error=delivery.last_error,
        delivered_at=as_utc(delivery.delivered_at) if delivery.delivered_at else None,
        event_created_at=as_utc(event.created_at),
    )


class NotDead(Exception):
    """The delivery asked to be replayed is not a dead letter (or its endpoint was deleted); the message says why."""


async def replay_dead_delivery(session: AsyncSession, id: str, now: datetime) -> DeliveryView | None:
    """Make a dead delivery due again (``now``): the next delivery run sends it, once. None when there is no such
    delivery; ``NotDead`` when it is pending, delivered, or its endpoint is deleted.

    Its event is still past the retry period, so a replay that fails is dead again at once, with its new error.
    """
    event_id, _, endpoint_id = id.partition(".")
    row = (
        await session.execute(
            select(WebhookDelivery, OutboxEvent, WebhookEndpoint)
            .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.event_id == event_id, WebhookDelivery.endpoint_id == endpoint_id)
            .with_for_update(of=WebhookDelivery)
        )
    ).first()
    if row is None:
        return None
    delivery, event, endpoint = row
    if delivery.state != "dead":
        raise NotDead(f"delivery {id} is {delivery.state}; only a dead delivery can be retried")
    if endpoint.disabled_at is not None:
        raise NotDead(f"the endpoint of delivery {id} was deleted; register it again to receive new events")
    delivery.state = "pending"
    delivery.next_attempt_at = now
    await session.flush()
    return _delivery_view(delivery, event, endpoint)
