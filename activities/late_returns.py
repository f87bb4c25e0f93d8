"""Activities of a return kept waiting: operators told of an urge, a compensation issued and recorded.

The promotions call carries the compensation's key (return, reason, breach number),
so Temporal's retries never issue a second coupon; recording it writes the view, the
ledger row and the customer's message in one transaction, each once per key.
"""

from temporalio import activity

from activities.refusals import refusals_are_final
from connectors.notifications import Notification, Notifications
from connectors.promotions import PromotionRequest, Promotions
from messages.late_returns import (
    ISSUE_COMPENSATION,
    NOTIFY_OPERATORS,
    RECORD_COMPENSATION,
    CompensationIssued,
    IssueCompensation,
    NotifyOperators,
    RecordCompensation,
)
from returnflow.metrics import count_transition
from store import ledger, outbox, returns
from store.db import Database

# The notifications partner's recipient for the merchant's staff (its operators' channel).
OPERATORS = "operators"


class LateReturnActivities:
    def __init__(self, database: Database, notifications: Notifications, promotions: Promotions) -> None:
        self._database = database
        self._notifications = notifications
        self._promotions = promotions

    @activity.defn(name=NOTIFY_OPERATORS.name)
    async def notify_operators(self, notice: NotifyOperators) -> None:
        await refusals_are_final(
            self._notifications.send(
                Notification(
                    idempotency_key=notice.idempotency_key,
                    reference=notice.return_id,
                    customer_id=OPERATORS,
                    template=notice.template,
                    data=dict(notice.data),
                )
            )
        )

    @activity.defn(name=ISSUE_COMPENSATION.name)
    async def issue_compensation(self, issue: IssueCompensation) -> CompensationIssued:
        issued = await refusals_are_final(
            self._promotions.issue(
                PromotionRequest(
                    idempotency_key=issue.idempotency_key,
                    customer_id=issue.customer_id,
                    kind=issue.kind,
                    amount=issue.amount,
                    currency=issue.currency,
                    reference=issue.return_id,
                )
            )
        )
        return CompensationIssued(promotion_id=issued.promotion_id, code=issued.code)

    @activity.defn(name=RECORD_COMPENSATION.name)
    async def record_compensation(self, record: RecordCompensation) -> None:
        view = record.view
        async with self._database.transaction() as session:
            saved = await returns.save_return(session, view, record.revision)
            await ledger.record_movement(
                session,
                view.id,
                view.order_id,
                idempotency_key=record.idempotency_key,
                kind="compensation",
                amount=record.compensation.amount,
                currency=record.unit,
                provider_ref=record.compensation.code,
            )
            await outbox.announce_compensation(session, view, record.idempotency_key)
        count_transition(view, saved)

    def all(self) -> list:
        return [self.notify_operators, self.issue_compensation, self.record_compensation]
