"""Webhook endpoints: the URLs merchants subscribe to event types, each with its signing secret.

The secret is shown once, when the endpoint is created; lists never carry it. The
database keeps it sealed with the codec keys (``returnflow/codec.py``), bound to the
endpoint's id: a copy of the table, or of a backup, tells nobody how to sign.
Disabling an endpoint drops what it has not received yet and keeps its history.
"""

import secrets
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from returnflow.codec import EncryptionCodec
from store.cursor import decode_keyset, encode_keyset
from store.db import as_utc
from store.tables import WebhookDelivery, WebhookEndpoint


class EndpointView(BaseModel):
    id: str
    url: str
    events: list[str]
    created_at: datetime


class CreatedEndpoint(EndpointView):
    secret: str


def _endpoint_view(row: WebhookEndpoint) -> EndpointView:
    return EndpointView(id=row.id, url=row.url, events=list(row.events), created_at=as_utc(row.created_at))


def seal_secret(codec: EncryptionCodec, endpoint_id: str, secret: str) -> str:
    return codec.seal(secret.encode(), endpoint_id.encode())


def unseal_secret(codec: EncryptionCodec, endpoint_id: str, sealed: str) -> str:
    """The clear signing secret; ``CodecError`` when its key is no longer listed in RETURNFLOW_CODEC_KEYS."""
    return codec.unseal(sealed, endpoint_id.encode()).decode()


async def create_endpoint(
    session: AsyncSession, url: str, events: list[str], codec: EncryptionCodec
) -> CreatedEndpoint:
    endpoint_id = "whe_" + secrets.token_hex(12)
    secret = "whsec_" + secrets.token_urlsafe(32)
    row = WebhookEndpoint(
        id=endpoint_id,
        url=url,
        events=events,
        encrypted_secret=seal_secret(codec, endpoint_id, secret),
        created_at=datetime.now(UTC),
        disabled_at=None,
    )
    session.add(row)
    await session.flush()
    return CreatedEndpoint(secret=secret, **_endpoint_view(row).model_dump())


async def list_endpoints(
    session: AsyncSession, limit: int, cursor: str | None
) -> tuple[list[EndpointView], str | None]:
    """Active endpoints, newest first (keyset on created_at, id); no secrets."""
    query = select(WebhookEndpoint).where(WebhookEndpoint.disabled_at.is_(None))
    if cursor:
        after, [endpoint_id] = decode_keyset(cursor, ids=1)
        query = query.where(
            or_(
                WebhookEndpoint.created_at < after,
                and_(WebhookEndpoint.created_at == after, WebhookEndpoint.id < endpoint_id),
            )
        )
    rows = (
        await session.scalars(
            query.order_by(WebhookEndpoint.created_at.desc(), WebhookEndpoint.id.desc()).limit(limit + 1)
        )
    ).all()
    page = rows[:limit]
    next_cursor = encode_keyset(page[-1].created_at, page[-1].id) if len(rows) > limit else None
    return [_endpoint_view(row) for row in page], next_cursor


async def disable_endpoint(session: AsyncSession, endpoint_id: str) -> bool:
    """Stop sending to an endpoint; its pending deliveries are dropped, delivered and dead ones kept."""
    row = await session.get(WebhookEndpoint, endpoint_id, with_for_update=True)
    if row is None or row.disabled_at is not None:
        return False
    row.disabled_at = datetime.now(UTC)
    await session.execute(
        delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.state == "pending")
    )
    return True
