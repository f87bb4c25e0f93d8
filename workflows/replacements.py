"""An exchange's replacement: reserved at approval, released if the return stops, shipped when the policy says;
its price difference refunded (a cheaper one) or asked of the customer (a dearer one)."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain import idempotency_keys as keys
    from domain.compensations import CompensationStep
    from domain.evaluation import Evaluation
    from domain.exchanges import out_of_stock_refund, replacement_value
    from domain.orders import Order
    from domain.policy import Policy
    from domain.progress import REPLACEMENT_SHIPPED_NOTE
    from domain.returns import Exchange, ExchangeHold, ExchangeItem, PaymentRequest, Status
    from messages import return_activities as act
    from workflows import shapes
    from workflows.calls import partner
    from workflows.refunding import Refunding
    from workflows.return_record import ReturnRecord
    from workflows.saga import Compensations

# An exchange's price difference is settled: a cheaper replacement's refunded, a dearer one's asked for.
PRICE_DIFFERENCE_PATCH = "exchange-price-difference"
# An instant exchange ships its replacement at approval against an authorization hold on the customer's payment.
INSTANT_EXCHANGE_PATCH = "instant-exchange"


class Replacements:
    def __init__(self, record: ReturnRecord, compensations: Compensations) -> None:
        self._record = record
        self._compensations = compensations
        self.held: act.Replacements | None = None
        self.shipped = False

    async def reserve(self, items: list[ExchangeItem], evaluation: Evaluation, policy: Policy) -> bool:
        """Hold every replacement, or none: False when one is out of stock and the return became a refund."""
        view = self._record.view
        quantities = {line.line_id: line.quantity for line in view.lines}
        wanted = act.ReserveReplacements(
            return_id=view.id,
            items=[
                act.Replacement(line_id=item.line_id, sku=item.sku, quantity=quantities[item.line_id]) for item in items
            ],
        )
        held = await partner(act.RESERVE_REPLACEMENTS, wanted)
        if held.out_of_stock:
            view.type, view.exchange = "return", None
            view.refund = out_of_stock_refund(policy, evaluation)
            instead = "store credit" if policy.exchange_out_of_stock == "store_credit" else "a refund"
            await self._record.note(f"replacement {', '.join(held.out_of_stock)} is out of stock: {instead} instead")
            return False
        self.held = held
        self._compensations.add(CompensationStep.RELEASE_REPLACEMENT, lambda: self._release(held))
        await self._record.note("replacement reserved")
        if view.exchange and view.exchange.price_difference > 0 and shapes.patched(PRICE_DIFFERENCE_PATCH):
            await self._request_difference()
        return True

    async def _request_difference(self) -> None:
        """A dearer replacement: the customer is asked to pay the difference (a payment request)."""
        view = self._record.view
        assert view.exchange is not None
        key = keys.payment_request_key(view.id)
        amount = view.exchange.price_difference
        asked = await partner(
            act.REQUEST_PAYMENT,
            act.RequestPayment(
                return_id=view.id,
                customer_id=view.customer_id,
                idempotency_key=key,
                amount=amount,
                currency=view.refund.currency,
            ),
        )
        view.exchange.payment_request = PaymentRequest(
            payment_request_id=asked.payment_request_id, amount=amount, idempotency_key=key
        )
        await self._record.note(f"the replacement costs {amount} {view.refund.currency} more: payment requested")

    async def complete(
        self, refunding: Refunding, note: str = "exchange complete: the replacement is on its way"
    ) -> None:
        """The exchange is done; a cheaper replacement's difference is refunded first."""
        view = self._record.view
        owed = view.exchange is not None and view.exchange.price_difference < 0 and view.refund.amount > 0
        if owed and shapes.patched(PRICE_DIFFERENCE_PATCH):
            await refunding.refund(show_pending=False, inspected=False)
            if refunding.outstanding:
                await refunding.settle_outstanding()
                return
        await self._record.transition(Status.COMPLETED, note)

    async def ship_instantly(self, order: Order) -> None:
        """Hold the replacements' value on the customer's payment, then ship them now. The hold is released
        at the return's first scan (``release_hold``) and captured if the return stops before (its undo)."""
        view = self._record.view
        if not order.payments or not shapes.patched(INSTANT_EXCHANGE_PATCH):
            return
        payment = order.payments[0]
        amount = replacement_value(view.exchange, view.lines, view.refund.currency)
        held = await partner(
            act.AUTHORIZE_HOLD,
            act.AuthorizeHold(
                return_id=view.id,
                idempotency_key=keys.hold_key(view.id),
                payment_id=payment.payment_id,
                provider_ref=payment.provider_ref,
                amount=amount,
                currency=view.refund.currency,
            ),
        )
        view.exchange = view.exchange or Exchange()
        view.exchange.hold = ExchangeHold(amount=amount, authorization_id=held.authorization_id)
        self._compensations.add(CompensationStep.CAPTURE_HOLD, self._capture_hold)
        await self._record.note(f"instant exchange: {amount} {view.refund.currency} held on the customer's payment")
        await self.ship()

    async def release_hold(self) -> None:
        """The return is on its way: the hold is voided (nothing is charged)."""
        view = self._record.view
        hold = view.exchange.hold if view.exchange else None
        if hold is None or hold.status != "authorized" or hold.authorization_id is None:
            return
        settle = act.SettleHold(
            return_id=view.id, authorization_id=hold.authorization_id, idempotency_key=keys.hold_void_key(view.id)
        )
        await partner(act.VOID_HOLD, settle)
        self._compensations.discard(CompensationStep.CAPTURE_HOLD)
        hold.status = "released"
        await self._record.note(
            f"the return is on its way: the hold of {hold.amount} {view.refund.currency} is released"
        )

    async def _capture_hold(self) -> None:
        """The return stopped before its first scan: the customer keeps the replacement and pays for it."""
        view = self._record.view
        hold = view.exchange.hold if view.exchange else None
        assert hold is not None and hold.authorization_id is not None
        settle = act.SettleHold(
            return_id=view.id, authorization_id=hold.authorization_id, idempotency_key=keys.hold_capture_key(view.id)
        )
        await partner(act.CAPTURE_HOLD, settle)
        hold.status = "captured"
        self._record.note_unsaved(
            f"nothing was sent back in time: the hold of {hold.amount} {view.refund.currency} for the replacement "
            "is captured"
        )

    async def ship(self) -> None:
        assert self.held is not None
        shipped = await partner(act.SHIP_REPLACEMENTS, self.held)
        # Once shipped there is nothing to release.
        self._compensations.discard(CompensationStep.RELEASE_REPLACEMENT)
        self.shipped = True
        self._record.view.refund.status = "succeeded"
        await self._record.note(f"{REPLACEMENT_SHIPPED_NOTE}: " + ", ".join(shipped.tracking_numbers))

    async def _release(self, held: act.Replacements) -> None:
        await partner(act.RELEASE_REPLACEMENTS, held)
