"""``send_customer_notifications``: tell customers about the statuses they care about, through the
notifications partner, best effort, in the language of the order (``domain/notification_templates.py``).

Idempotent: the event id is the partner's idempotency key, so a retry never sends twice. Each message's
links carry a tracking token (``domain/tracking_links.py``) that opens the return's page without a login.
"""

from datetime import UTC, datetime, timedelta

import structlog
from temporalio import activity

from connectors.errors import PartnerRejected, PartnerUnavailable
from connectors.notifications import Notification, Notifications
from domain import tracking_links
from domain.notification_templates import render
from domain.notifications import message_facts, notification_data, template_name
from messages.housekeeping import SEND_CUSTOMER_NOTIFICATIONS, Batch, NotificationReport
from store.customer_notifications import due_notifications, record_notification
from store.db import Database

log = structlog.get_logger()


class CustomerNotifier:
    def __init__(
        self,
        database: Database,
        notifications: Notifications,
        *,
        max_attempts: int,
        site_url: str,
        link_secret: bytes,
        link_ttl: timedelta,
    ) -> None:
        self._database = database
        self._notifications = notifications
        self._max_attempts = max_attempts
        self._site_url = site_url
        self._link_secret = link_secret
        self._link_ttl = link_ttl

    def _link_token(self, return_id: str) -> str:
        """The token of this message's links: this return's page, from now until ``tracking_link_ttl_days``."""
        expires = int((datetime.now(UTC) + self._link_ttl).timestamp())
        return tracking_links.mint(self._link_secret, return_id, expires)

    @activity.defn(name=SEND_CUSTOMER_NOTIFICATIONS.name)
    async def send_customer_notifications(self, batch: Batch) -> NotificationReport:
        """Oldest first, one at a time. The event id is the idempotency key, so a retry never sends twice.

        A partner that cannot answer ends the run (the next run tries again); after
        ``max_attempts`` attempts (``notification_max_attempts``), or a refusal, the message is given up.
        """
        async with self._database.sessions() as session:
            due = await due_notifications(session, batch.limit)
        report = NotificationReport()
        for item in due:
            view = item.view
            final, error = False, None
            data = notification_data(view)
            try:
                facts = message_facts(item.kind, data, self._site_url, self._link_token(str(view["id"])))
                message = render(item.kind, item.language, facts)
                await self._notifications.send(
                    Notification(
                        idempotency_key=item.event_id,
                        reference=str(view["id"]),
                        customer_id=str(view["customer_id"]),
                        template=template_name(item.kind),
                        data=data,
                        language=message.language,
                        subject=message.subject,
                        body=message.body,
                    )
                )
            except KeyError as missing:  # the template wants a fact this return does not have: no retry helps
                final, error = True, f"the {item.kind} message needs {missing}"
            except PartnerRejected as refusal:
                final, error = True, str(refusal)
            except PartnerUnavailable as failure:
                final, error = item.attempts + 1 >= self._max_attempts, str(failure)
            async with self._database.transaction() as session:
                state = await record_notification(session, item, error=error, final=final, now=datetime.now(UTC))
            activity.heartbeat()
            report.attempted += 1
            report.sent += state == "sent"
            report.retrying += state == "pending"
            report.failed += state == "failed"
            if state == "failed":
                log.warning("customer_notification_given_up", event_id=item.event_id, error=error)
            if state == "pending":
                log.info("notifications_unavailable", event_id=item.event_id, error=error)
                break
        return report
