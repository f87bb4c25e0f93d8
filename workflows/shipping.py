"""The parcel's way: intercepting an unshipped order, booking the carrier (undone by cancelling the
booking), handing what arrived to the warehouse, and sending back what inspection returns to the customer."""

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.compensations import CompensationStep
    from domain.drop_off_codes import qr_code_path
    from domain.pickup_slots import PickupSlot
    from domain.returns import Logistics, LogisticsMethod, Status
    from messages import return_activities as act
    from workflows import shapes
    from workflows.calls import partner, refused_by_partner
    from workflows.return_record import ReturnRecord
    from workflows.saga import Compensations


# A line inspection returns to the customer is shipped back to them.
RETURN_TO_CUSTOMER_PATCH = "return-to-customer-shipment"


class Shipping:
    def __init__(self, record: ReturnRecord, compensations: Compensations) -> None:
        self._record = record
        self._compensations = compensations
        self._bookings = 1  # the carrier bookings made so far (a missed pickup is rebooked)

    async def intercept(self, requested: LogisticsMethod) -> bool:
        """Ask the warehouse to stop the unshipped order; if it already left, carry on as a return."""
        view = self._record.view
        answer = await partner(act.INTERCEPT_ORDER, act.InterceptOrder(return_id=view.id, order_id=view.order_id))
        if answer.intercepted:
            await self._record.note("the warehouse stopped the order before it shipped")
            return True
        view.type = "return"
        view.logistics = Logistics(method="mail" if requested == "none" else requested)
        await self._record.note(f"the parcel had already left the warehouse ({answer.reason}): continuing as a return")
        return False

    async def book(
        self, method: LogisticsMethod, slot: PickupSlot | None, ship_within: timedelta, new_request: bool = False
    ) -> None:
        """Book the carrier; the return then awaits its parcel, for ``ship_within`` at most. ``new_request``:
        unlike the booking tried before (another method or slot), so it gets an idempotency key of its own;
        a booking tried again keeps its key, so a carrier that did book it the first time books nothing twice."""
        if new_request:
            self._bookings += 1
        await self._book(method, slot, ship_within)
        await self._record.transition(Status.AWAITING_SHIPMENT)

    async def rebook(self, method: LogisticsMethod, slot: PickupSlot | None, ship_within: timedelta) -> None:
        """The booking the carrier missed is cancelled and another made: a pickup in ``slot``, or a
        drop-off instead; the parcel is then awaited for ``ship_within`` again."""
        missed = self._record.view.logistics.tracking_number
        assert missed is not None, "only a booked shipment is rebooked"
        self._compensations.discard(CompensationStep.CANCEL_SHIPMENT)
        await self._cancel(missed)
        # Its label is void now: the return shows none until the new booking holds (it may fail: booking_failures.py).
        self._record.view.logistics = Logistics(method=self._record.view.logistics.method)
        self._bookings += 1
        await self._book(method, slot, ship_within)

    async def _book(self, method: LogisticsMethod, slot: PickupSlot | None, ship_within: timedelta) -> None:
        view = self._record.view
        assert method != "none", "only a return that ships back books a carrier"
        booked = await partner(
            act.BOOK_SHIPMENT,
            act.BookShipment(
                return_id=view.id,
                order_id=view.order_id,
                method=method,
                pickup_slot={"start": slot.start, "end": slot.end} if slot else None,
                booking=self._bookings,
            ),
        )
        tracking = booked.tracking_number
        self._compensations.add(CompensationStep.CANCEL_SHIPMENT, lambda: self._cancel(tracking))
        token = booked.drop_off_token
        view.logistics = Logistics(
            method=method,
            carrier=booked.carrier,
            tracking_number=tracking,
            label_url=booked.label_url,
            ship_by=workflow.now() + ship_within,
            pickup_slot=slot if method == "pickup" else None,
            drop_off_token=token,
            # A booking made before the activity said the absolute address: the path on the site, as then.
            qr_code_url=booked.qr_code_url or (qr_code_path(token) if token else None),
            drop_off_points=booked.drop_off_points,
        )

    async def intake(self) -> None:
        view = self._record.view
        items = [
            act.IntakeItem(
                sku=ln.sku, quantity=ln.quantity, condition=ln.condition or "", disposition=ln.disposition or ""
            )
            for ln in view.lines
        ]
        await partner(act.WAREHOUSE_INTAKE, act.WarehouseIntake(return_id=view.id, lines=items))

    async def send_back(self) -> None:
        """Book a parcel to the customer for every line inspection gave ``return_to_customer`` (its refund
        is already deducted, domain/inspection.py). The address is read from the order in the store."""
        view = self._record.view
        lines = [ln for ln in view.lines if ln.disposition == "return_to_customer"]
        if not lines or not shapes.patched(RETURN_TO_CUSTOMER_PATCH):
            return
        parcel = act.ShipToCustomer(
            return_id=view.id,
            order_id=view.order_id,
            lines=[act.ReturnedLine(line_id=ln.line_id, sku=ln.sku, quantity=ln.quantity) for ln in lines],
        )
        try:
            sent = await partner(act.SHIP_TO_CUSTOMER, parcel)
        except ActivityError as failure:
            if not refused_by_partner(failure):
                raise
            await self._record.note(f"the carrier refused the parcel back to the customer: {failure.cause}")
            return
        view.logistics.return_shipments = sent.shipments
        await self._record.note(
            "shipped back to the customer: "
            + ", ".join(f"{s.line_id} ({s.carrier} {s.tracking_number})" for s in sent.shipments)
        )

    async def _cancel(self, tracking_number: str) -> None:
        await partner(
            act.CANCEL_SHIPMENT, act.CancelShipment(return_id=self._record.view.id, tracking_number=tracking_number)
        )
