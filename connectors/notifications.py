"""Notifications connector: ask the merchant's messaging system to tell a customer about their return.

The partner knows how to reach the customer (email, SMS, app) from ``customer_id``;
returnflow sends no contact details: the template name, the return's facts and the message itself
(``domain/notification_templates.py``), in the customer's language, for a partner that sends it as it is.
"""

from typing import Any, Protocol

import httpx
from pydantic import BaseModel, Field

from connectors.http import PartnerHttp, parse_result


class Notification(BaseModel):
    idempotency_key: str = Field(min_length=1, description="The event's id: one message per event.")
    reference: str = Field(min_length=1, description="The return's id.")
    customer_id: str = Field(min_length=1)
    template: str = Field(min_length=1, description="e.g. return_approved, return_completed")
    data: dict[str, Any] = Field(default_factory=dict)
    language: str = Field("en", description="The message's language: en or zh-Hans.")
    subject: str = ""
    body: str = ""


class NotificationSent(BaseModel):
    notification_id: str


class Notifications(Protocol):
    async def send(self, notification: Notification) -> NotificationSent: ...


class HttpNotifications:
    """``POST {base}/notifications``."""

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._http = PartnerHttp("notifications", client, base_url)

    async def send(self, notification: Notification) -> NotificationSent:
        body = await self._http.call("POST", "/notifications", json=notification.model_dump(mode="json"))
        return parse_result("notifications", NotificationSent, body)
