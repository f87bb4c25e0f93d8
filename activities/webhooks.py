"""``deliver_webhooks``: POST the due webhook deliveries, signed; record delivered, retry later (backoff) or dead.

Idempotent: a retry sends at most what is still due (each outcome is recorded as
it happens). Webhooks go to URLs merchants registered, so the HTTP client is one of
their own, sharing nothing with the partners'.
"""

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import structlog
from temporalio import activity

from messages.housekeeping import DELIVER_WEBHOOKS, Batch, DeliveryReport
from returnflow.codec import CodecError, EncryptionCodec
from returnflow.metrics import WEBHOOK_DELIVERIES, WEBHOOK_OUTCOMES
from store.db import Database
from store.webhook_deliveries import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    DueDelivery,
    due_deliveries,
    record_attempt,
    sign,
)
from store.webhook_endpoints import unseal_secret

log = structlog.get_logger()

DELIVERY_CONCURRENCY = 10


class WebhookSender:
    def __init__(
        self,
        database: Database,
        http: httpx.AsyncClient,
        codec: EncryptionCodec,
        *,
        give_up_after: timedelta,
        timeout_seconds: float,
    ) -> None:
        self._database = database
        self._http = http
        self._codec = codec
        self._give_up_after = give_up_after
        self._timeout_seconds = timeout_seconds

    @activity.defn(name=DELIVER_WEBHOOKS.name)
    async def deliver_webhooks(self, batch: Batch) -> DeliveryReport:
        """Send the deliveries that are due, ``DELIVERY_CONCURRENCY`` at a time, and record each outcome."""
        async with self._database.sessions() as session:
            due = await due_deliveries(session, datetime.now(UTC), batch.limit)
        gate = asyncio.Semaphore(DELIVERY_CONCURRENCY)

        async def deliver(item: DueDelivery) -> str:
            async with gate:
                error = await self._post(item)
                async with self._database.transaction() as session:
                    state = await record_attempt(
                        session, item, error=error, now=datetime.now(UTC), give_up_after=self._give_up_after
                    )
            activity.heartbeat()
            WEBHOOK_DELIVERIES.labels(outcome=WEBHOOK_OUTCOMES[state]).inc()
            if error is not None:
                log.info(
                    "webhook_attempt_failed",
                    event_id=item.event_id,
                    endpoint_id=item.endpoint_id,
                    error=error,
                    state=state,
                )
            return state

        states = await asyncio.gather(*(deliver(item) for item in due))
        return DeliveryReport(
            attempted=len(states),
            delivered=states.count("delivered"),
            retrying=states.count("pending"),
            dead=states.count("dead"),
        )

    async def _post(self, item: DueDelivery) -> str | None:
        """One attempt; None when the endpoint acknowledged (2xx), else what went wrong."""
        try:
            secret = unseal_secret(self._codec, item.endpoint_id, item.encrypted_secret)
        except CodecError as error:  # its key was taken out of RETURNFLOW_CODEC_KEYS: this endpoint only
            return f"cannot open the endpoint's signing secret: {error}"
        headers = {
            "content-type": "application/json",
            "user-agent": "returnflow-webhooks/1",
            SIGNATURE_HEADER: sign(secret, int(time.time()), item.body),
            EVENT_ID_HEADER: item.event_id,
        }
        try:
            response = await self._http.post(
                item.url,
                content=item.body,
                headers=headers,
                timeout=self._timeout_seconds,
                follow_redirects=False,
            )
        except Exception as exc:  # any failure to deliver is one failed attempt, never a failed batch
            return f"{type(exc).__name__}: {exc}"[:1000]
        if 200 <= response.status_code < 300:
            return None
        if response.is_redirect:  # following it could lead anywhere, the SSRF guard's check included
            return f"HTTP {response.status_code}: redirects are not followed (to {response.headers['location']})"[:1000]
        return f"HTTP {response.status_code}: {response.text[:200]}"
