"""Activities that call the merchant's partners: carrier, warehouse, payments.

Every call carries an idempotency key derived from the return id and the step,
so Temporal's retries can never book, restock or refund twice. A partner that
cannot answer raises ``PartnerUnavailable`` and Temporal retries; a partner
that says no becomes a non-retryable ``ApplicationError`` the workflow handles.
"""

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.refusals import refusals_are_final
from connectors.carrier import Carrier, ShipmentRequest
from connectors.errors import PartnerRejected
from connectors.fulfilment import Fulfilment, Revocation
from connectors.payments import Payments, RefundRequest, StoreCreditRequest
from connectors.warehouse import IntakeLine, IntakeRequest, InterceptRequest, Warehouse
from domain import idempotency_keys as keys
from domain.drop_off_codes import qr_code_url
from domain.returns import ReturnShipment
from messages.return_activities import (
    BOOK_SHIPMENT,
    CANCEL_SHIPMENT,
    INTERCEPT_ORDER,
    ISSUE_STORE_CREDIT,
    REFUND_PAYMENT,
    RELEASE_REPLACEMENTS,
    RESERVE_REPLACEMENTS,
    REVOKE_ENTITLEMENTS,
    SHIP_REPLACEMENTS,
    SHIP_TO_CUSTOMER,
    WAREHOUSE_INTAKE,
    BookShipment,
    CancelShipment,
    Interception,
    InterceptOrder,
    IssueStoreCredit,
    RefundIssued,
    RefundPayment,
    Replacements,
    ReserveReplacements,
    RevokeEntitlements,
    ShipmentBooked,
    Shipped,
    ShippedToCustomer,
    ShipToCustomer,
    StoreCreditIssued,
    WarehouseIntake,
)
from store.db import Database
from store.orders import shipping_address


class PartnerActivities:
    def __init__(
        self,
        database: Database,
        carrier: Carrier,
        warehouse: Warehouse,
        payments: Payments,
        fulfilment: Fulfilment,
        *,
        site_url: str,
    ):
        self._site_url = site_url  # where customers reach returnflow: drop-off QR codes are served there
        self._database = database
        self._carrier = carrier
        self._warehouse = warehouse
        self._payments = payments
        self._fulfilment = fulfilment

    @activity.defn(name=BOOK_SHIPMENT.name)
    async def book_shipment(self, booking: BookShipment) -> ShipmentBooked:
        async with self._database.reading() as connection:
            address = await shipping_address(connection, booking.order_id)
        shipment = await refusals_are_final(
            self._carrier.create_shipment(
                ShipmentRequest(
                    idempotency_key=keys.shipment_key(booking.return_id, booking.booking),
                    reference=booking.return_id,
                    method=booking.method,
                    pickup_slot=booking.pickup_slot,
                    from_address=address.model_dump() if address else None,
                )
            )
        )
        points = []
        if booking.method == "drop_off" and address is not None:
            points = await refusals_are_final(self._carrier.drop_off_points(address))
        return ShipmentBooked(
            carrier=shipment.carrier,
            tracking_number=shipment.tracking_number,
            label_url=shipment.label_url,
            drop_off_token=shipment.drop_off_token,
            drop_off_points=points,
            qr_code_url=qr_code_url(self._site_url, shipment.drop_off_token) if shipment.drop_off_token else None,
        )

    @activity.defn(name=SHIP_TO_CUSTOMER.name)
    async def ship_to_customer(self, parcel: ShipToCustomer) -> ShippedToCustomer:
        """One parcel per line, each with its own key: a retry books none twice."""
        async with self._database.reading() as connection:
            address = await shipping_address(connection, parcel.order_id)
        shipments = []
        for line in parcel.lines:
            shipment = await refusals_are_final(
                self._carrier.create_shipment(
                    ShipmentRequest(
                        idempotency_key=keys.return_to_customer_key(parcel.return_id, line.line_id),
                        reference=parcel.return_id,
                        method="mail",
                        direction="to_customer",
                        to_address=address.model_dump() if address else None,
                        items=[{"sku": line.sku, "quantity": line.quantity}],
                    )
                )
            )
            shipments.append(
                ReturnShipment(line_id=line.line_id, carrier=shipment.carrier, tracking_number=shipment.tracking_number)
            )
        return ShippedToCustomer(shipments=shipments)

    @activity.defn(name=CANCEL_SHIPMENT.name)
    async def cancel_shipment(self, cancel: CancelShipment) -> None:
        await refusals_are_final(self._carrier.cancel_shipment(cancel.tracking_number))

    @activity.defn(name=WAREHOUSE_INTAKE.name)
    async def warehouse_intake(self, intake: WarehouseIntake) -> None:
        await refusals_are_final(
            self._warehouse.intake(
                IntakeRequest(
                    idempotency_key=keys.intake_key(intake.return_id),
                    reference=intake.return_id,
                    lines=[IntakeLine(**item.model_dump()) for item in intake.lines],
                )
            )
        )

    @activity.defn(name=REFUND_PAYMENT.name)
    async def refund_payment(self, refund: RefundPayment) -> RefundIssued:
        result = await refusals_are_final(
            self._payments.refund(
                RefundRequest(
                    idempotency_key=refund.idempotency_key,
                    payment_id=refund.payment_id,
                    provider_ref=refund.provider_ref,
                    amount=refund.amount,
                    currency=refund.currency,
                    reference=refund.return_id,
                )
            )
        )
        return RefundIssued(refund_id=result.refund_id)

    @activity.defn(name=ISSUE_STORE_CREDIT.name)
    async def issue_store_credit(self, credit: IssueStoreCredit) -> StoreCreditIssued:
        result = await refusals_are_final(
            self._payments.issue_store_credit(
                StoreCreditRequest(
                    idempotency_key=credit.idempotency_key,
                    customer_id=credit.customer_id,
                    amount=credit.amount,
                    currency=credit.currency,
                    reference=credit.return_id,
                )
            )
        )
        return StoreCreditIssued(store_credit_id=result.store_credit_id)

    @activity.defn(name=REVOKE_ENTITLEMENTS.name)
    async def revoke_entitlements(self, revoke: RevokeEntitlements) -> None:
        for line in revoke.lines:
            await refusals_are_final(
                self._fulfilment.revoke(
                    Revocation(
                        idempotency_key=keys.revocation_key(revoke.return_id, line.line_id),
                        reference=revoke.return_id,
                        order_id=revoke.order_id,
                        line_id=line.line_id,
                        sku=line.sku,
                        quantity=line.quantity,
                    )
                )
            )

    @activity.defn(name=INTERCEPT_ORDER.name)
    async def intercept_order(self, order: InterceptOrder) -> Interception:
        """A refusal here is an answer, not a failure: the parcel has already left."""
        try:
            await self._warehouse.intercept(
                InterceptRequest(
                    idempotency_key=keys.intercept_key(order.return_id),
                    reference=order.return_id,
                    order_id=order.order_id,
                )
            )
        except PartnerRejected as refusal:
            return Interception(intercepted=False, reason=refusal.message)
        return Interception(intercepted=True)

    @activity.defn(name=RESERVE_REPLACEMENTS.name)
    async def reserve_replacements(self, wanted: ReserveReplacements) -> Replacements:
        """All or nothing: if one item is out of stock, what was held for the others is released."""
        held: list[str] = []
        for item in wanted.items:
            try:
                reservation = await self._warehouse.reserve(
                    keys.reservation_key(wanted.return_id, item.line_id), wanted.return_id, item.sku, item.quantity
                )
            except PartnerRejected as refusal:
                if refusal.code != "out_of_stock":
                    raise ApplicationError(refusal.message, type=refusal.code, non_retryable=True) from None
                for reservation_id in held:
                    await self._warehouse.release_reservation(reservation_id)
                return Replacements(return_id=wanted.return_id, out_of_stock=[item.sku])
            held.append(reservation.reservation_id)
        return Replacements(return_id=wanted.return_id, reservation_ids=held)

    @activity.defn(name=SHIP_REPLACEMENTS.name)
    async def ship_replacements(self, held: Replacements) -> Shipped:
        shipped = [
            await refusals_are_final(self._warehouse.ship_reservation(reservation_id))
            for reservation_id in held.reservation_ids
        ]
        return Shipped(tracking_numbers=[s.tracking_number or "" for s in shipped])

    @activity.defn(name=RELEASE_REPLACEMENTS.name)
    async def release_replacements(self, held: Replacements) -> None:
        for reservation_id in held.reservation_ids:
            await refusals_are_final(self._warehouse.release_reservation(reservation_id))

    def all(self) -> list:
        return [
            self.book_shipment,
            self.cancel_shipment,
            self.ship_to_customer,
            self.warehouse_intake,
            self.refund_payment,
            self.issue_store_credit,
            self.revoke_entitlements,
            self.intercept_order,
            self.reserve_replacements,
            self.ship_replacements,
            self.release_replacements,
        ]
