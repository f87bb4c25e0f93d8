"""Webhook endpoints (service) and their deliveries (service, operator: the dead letters).

Events are ``return.<status>`` (``return.approved``, ``return.completed``,
``return.needs_attention``…), one per status change of a return, and
``return.compensation_issued`` when a late return's customer is compensated, each
with a unique ``id``. How they are sent and signed: ``store/webhook_deliveries.py``.
"""

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, Field, field_validator

from api.auth import allow
from api.deps import AppSettings, Session
from api.problems import Problem
from domain.orders import StrictModel
from domain.wire import WebUrl
from returnflow import ssrf
from returnflow.codec import EncryptionCodec
from store import outbox, webhook_deliveries, webhook_endpoints
from store.cursor import BadCursor
from store.webhook_deliveries import DeliveryView
from store.webhook_endpoints import CreatedEndpoint, EndpointView

router = APIRouter(tags=["webhooks"])

EventType = Literal[outbox.EVENT_TYPES]  # type: ignore[valid-type]
EndpointId = Annotated[str, Path(min_length=1, max_length=40)]
DeliveryId = Annotated[
    str, Path(min_length=3, max_length=81, description="The delivery's id: its event id and endpoint id, evt_….whe_…")
]


class EndpointIn(StrictModel):
    url: WebUrl = Field(description="Where events are POSTed: an absolute http(s) URL.")
    events: list[EventType] = Field(
        min_length=1,
        max_length=len(outbox.EVENT_TYPES),
        description="The event types to receive, e.g. return.approved.",
    )

    @field_validator("events")
    @classmethod
    def _unique(cls, events: list[str]) -> list[str]:
        return list(dict.fromkeys(events))


class EndpointPage(BaseModel):
    items: list[EndpointView]
    next_cursor: str | None


class DeliveryPage(BaseModel):
    items: list[DeliveryView]
    next_cursor: str | None


@router.post(
    "/v1/webhook-endpoints", status_code=201, response_model=CreatedEndpoint, dependencies=[Depends(allow("service"))]
)
async def create_endpoint(body: EndpointIn, session: Session, settings: AppSettings) -> CreatedEndpoint:
    """Subscribe a URL to event types. The answer carries the signing ``secret`` (``whsec_…``); it is shown
    this once, keep it: every delivery carries ``Returnflow-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret,
    "<t>.<body>")>``. A URL whose host resolves to a loopback, private, link-local or metadata address is
    refused (422), here and at every delivery."""
    try:
        await ssrf.refuse_internal_url(body.url, allow_private=settings.webhook_allow_private_addresses)
    except ssrf.RefusedDestination as refused:
        raise Problem(
            422, f"url: {refused}", [{"field": "url", "code": "address_not_allowed", "message": str(refused)}]
        ) from None
    codec = EncryptionCodec.from_text(settings.codec_keys.get_secret_value())
    return await webhook_endpoints.create_endpoint(session, body.url, list(body.events), codec)


@router.get("/v1/webhook-endpoints", response_model=EndpointPage, dependencies=[Depends(allow("service"))])
async def list_endpoints(
    session: Session,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> EndpointPage:
    """Active endpoints, newest first; secrets are never shown again."""
    try:
        items, next_cursor = await webhook_endpoints.list_endpoints(session, limit, cursor)
    except BadCursor as error:
        raise Problem(422, str(error), [{"field": "cursor", "code": "invalid_cursor", "message": str(error)}]) from None
    return EndpointPage(items=items, next_cursor=next_cursor)


@router.delete(
    "/v1/webhook-endpoints/{endpoint_id}",
    status_code=204,
    response_class=Response,
    dependencies=[Depends(allow("service"))],
)
async def delete_endpoint(endpoint_id: EndpointId, session: Session) -> Response:
    """Stop sending to the endpoint; what it has not received yet is dropped, its delivery history kept."""
    if not await webhook_endpoints.disable_endpoint(session, endpoint_id):
        raise Problem(404, f"no webhook endpoint {endpoint_id}")
    return Response(status_code=204)


@router.get("/v1/webhook-deliveries", response_model=DeliveryPage, dependencies=[Depends(allow("service", "operator"))])
async def list_deliveries(
    session: Session,
    state: Literal["pending", "delivered", "dead"] | None = None,
    endpoint_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> DeliveryPage:
    """Deliveries, newest event first; ``?state=dead`` lists the dead letters (given up after the retry period)."""
    try:
        items, next_cursor = await webhook_deliveries.list_deliveries(session, state, endpoint_id, limit, cursor)
    except BadCursor as error:
        raise Problem(422, str(error), [{"field": "cursor", "code": "invalid_cursor", "message": str(error)}]) from None
    return DeliveryPage(items=items, next_cursor=next_cursor)


@router.post(
    "/v1/webhook-deliveries/{delivery_id}/retry",
    status_code=202,
    response_model=DeliveryView,
    dependencies=[Depends(allow("operator"))],
)
async def retry_delivery(delivery_id: DeliveryId, session: Session) -> DeliveryView:
    """Replay a dead letter: the delivery is due again and the next delivery run (every few seconds) sends it,
    once; if that attempt fails too it is dead again, with its new error. 409 when it is not dead."""
    try:
        replayed = await webhook_deliveries.replay_dead_delivery(session, delivery_id, datetime.now(UTC))
    except webhook_deliveries.NotDead as error:
        raise Problem(409, str(error)) from None
    if replayed is None:
        raise Problem(404, f"no webhook delivery {delivery_id}")
    return replayed
