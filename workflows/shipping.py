"""The parcel's way: intercepting an unshipped order, booking the carrier (undone by cancelling the
booking), and handing what arrived to the warehouse."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.compensations import CompensationStep
    from domain.returns import Logistics, LogisticsMethod, PickupSlot, Status
    from messages import return_activities as act
    from workflows.calls import partner
    from workflows.return_record import ReturnRecord
    from workflows.saga import Compensations


class Shipping:
    def __init__(self, record: ReturnRecord, compensations: Compensations) -> None:
        self._record = record
        self._compensations = compensations

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

    async def book(self, slot: PickupSlot | None, ship_within: timedelta) -> None:
        """Book the carrier; the return then awaits its parcel, for ``ship_within`` at most."""
        view = self._record.view
        method = view.logistics.method
        assert method != "none", "only a return that ships back books a carrier"
        booked = await partner(
            act.BOOK_SHIPMENT,
            act.BookShipment(
                return_id=view.id,
                order_id=view.order_id,
                method=method,
                pickup_slot={"start": slot.start, "end": slot.end} if slot else None,
            ),
        )
        tracking = booked.tracking_number
        self._compensations.add(CompensationStep.CANCEL_SHIPMENT, lambda: self._cancel(tracking))
        view.logistics = Logistics(
            method=method,
            carrier=booked.carrier,
            tracking_number=tracking,
            label_url=booked.label_url,
            ship_by=workflow.now() + ship_within,
        )
        await self._record.transition(Status.AWAITING_SHIPMENT)

    async def intake(self) -> None:
        view = self._record.view
        items = [
            act.IntakeItem(
                sku=ln.sku, quantity=ln.quantity, condition=ln.condition or "", disposition=ln.disposition or ""
            )
            for ln in view.lines
        ]
        await partner(act.WAREHOUSE_INTAKE, act.WarehouseIntake(return_id=view.id, lines=items))

    async def _cancel(self, tracking_number: str) -> None:
        await partner(
            act.CANCEL_SHIPMENT, act.CancelShipment(return_id=self._record.view.id, tracking_number=tracking_number)
        )
