"""Sandbox notifier: records the messages customers would receive."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sandbox.common import create_once, get_faults, get_store

router = APIRouter(prefix="/notifications", tags=["notifications"])


class NotificationIn(BaseModel):
    idempotency_key: str = Field(min_length=1, max_length=255)
    reference: str = Field(min_length=1, max_length=255)
    customer_id: str = Field(min_length=1, max_length=255)
    template: str = Field(min_length=1, max_length=64)
    data: dict[str, Any] = Field(default_factory=dict)
    language: str = Field("en", max_length=16)
    subject: str = Field("", max_length=500)
    body: str = Field("", max_length=5000)


@router.post("", status_code=201, response_model=None)
async def send(body: NotificationIn, request: Request) -> dict[str, Any] | JSONResponse:
    await get_faults(request).apply("notifications.send")
    fields = {
        "reference": body.reference,
        "customer_id": body.customer_id,
        "template": body.template,
        "data": body.data,
        "language": body.language,
        "subject": body.subject,
        "body": body.body,
        "status": "sent",
    }
    message, created = create_once(get_store(request), "notifications", body.idempotency_key, fields, "msg")
    return message if created else JSONResponse(message, status_code=200)


@router.get("")
async def list_notifications(request: Request, reference: str | None = None) -> dict[str, list[dict[str, Any]]]:
    return {"items": get_store(request).records("notifications", reference)}
