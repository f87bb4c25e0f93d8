"""Activities that move an exchange's money: a payment request for a dearer replacement, and an instant
exchange's authorization hold (authorize, capture, void). Every call carries the key it was given, so a
retry never asks, holds, captures or releases twice."""

from temporalio import activity

from activities.refusals import refusals_are_final
from connectors.payments import AuthorizationRequest, HttpExchangePayments, PaymentRequestCall
from messages.return_activities import (
    AUTHORIZE_HOLD,
    CAPTURE_HOLD,
    REQUEST_PAYMENT,
    VOID_HOLD,
    AuthorizeHold,
    HoldAuthorized,
    PaymentRequested,
    RequestPayment,
    SettleHold,
)


class ExchangePaymentActivities:
    def __init__(self, payments: HttpExchangePayments) -> None:
        self._payments = payments

    @activity.defn(name=REQUEST_PAYMENT.name)
    async def request_payment(self, asked: RequestPayment) -> PaymentRequested:
        result = await refusals_are_final(
            self._payments.request_payment(
                PaymentRequestCall(
                    idempotency_key=asked.idempotency_key,
                    customer_id=asked.customer_id,
                    amount=asked.amount,
                    currency=asked.currency,
                    reference=asked.return_id,
                )
            )
        )
        return PaymentRequested(payment_request_id=result.payment_request_id)

    @activity.defn(name=AUTHORIZE_HOLD.name)
    async def authorize_hold(self, hold: AuthorizeHold) -> HoldAuthorized:
        result = await refusals_are_final(
            self._payments.authorize(
                AuthorizationRequest(
                    idempotency_key=hold.idempotency_key,
                    payment_id=hold.payment_id,
                    provider_ref=hold.provider_ref,
                    amount=hold.amount,
                    currency=hold.currency,
                    reference=hold.return_id,
                )
            )
        )
        return HoldAuthorized(authorization_id=result.authorization_id)

    @activity.defn(name=CAPTURE_HOLD.name)
    async def capture_hold(self, hold: SettleHold) -> None:
        await refusals_are_final(self._payments.capture(hold.authorization_id, hold.idempotency_key))

    @activity.defn(name=VOID_HOLD.name)
    async def void_hold(self, hold: SettleHold) -> None:
        await refusals_are_final(self._payments.void(hold.authorization_id, hold.idempotency_key))

    def all(self) -> list:
        return [self.request_payment, self.authorize_hold, self.capture_hold, self.void_hold]
