"""A booking the carrier refuses, or does not answer for a day: the return shows ``booking_failed`` and a
person tries again, books a pickup in another slot, switches to a drop-off, or cancels the return.

This holds for the first booking and for the new booking a missed pickup's resolution asks for
(``pickups.py``). Before this the run failed there (its units stayed claimed until the drift repair
ticketed the ended workflow); runs recorded so replay it so (``BOOKING_ATTENTION_PATCH``, asked only
once a booking failed).
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from domain.attention import Resolution, actions_for
    from domain.pickup_slots import PickupSlot
    from domain.returns import LogisticsMethod, Status
    from workflows import shapes
    from workflows.attention import Attentions
    from workflows.calls import refused_by_partner
    from workflows.return_record import ReturnRecord
    from workflows.shipping import Shipping
    from workflows.stops import ReturnStopped
    from workflows.waiting import Waiting

BOOKING_ATTENTION_PATCH = "booking-failed-attention"
# How a switch to drop-off resolves an attention (here and in ``pickups.py``), in the return's timeline.
SWITCHED_TO_DROP_OFF = "switched to drop-off: the customer hands the parcel in at a counter"


class Bookings:
    def __init__(self, record: ReturnRecord, waiting: Waiting, attentions: Attentions, shipping: Shipping) -> None:
        self._record = record
        self._waiting = waiting
        self._attentions = attentions
        self._shipping = shipping

    async def book(self, method: LogisticsMethod, slot: PickupSlot | None, ship_within: timedelta) -> None:
        """Book the carrier (``Shipping.book``); a failure waits for a person's way on (``until_booked``)."""
        try:
            await self._shipping.book(method, slot, ship_within)
        except ActivityError as failure:
            if not self.asks_a_person(failure):
                raise
            await self.until_booked(failure, method, slot, ship_within)

    @staticmethod
    def asks_a_person(failure: ActivityError) -> bool:
        """A failed booking shows ``booking_failed``; a cancelled call (the workflow cancelled) is no failure."""
        return not is_cancelled_exception(failure) and shapes.patched(BOOKING_ATTENTION_PATCH)

    async def until_booked(
        self, failure: ActivityError, method: LogisticsMethod, slot: PickupSlot | None, ship_within: timedelta
    ) -> PickupSlot | None:
        """After the booking of ``method`` (in ``slot``) failed: show ``booking_failed`` and carry out what a
        person chooses until a booking holds (the pickup slot booked is returned; None for a label or a
        drop-off) or the return stops (``ReturnStopped``: a cancel, by the person or the customer)."""
        # The return is written first (a return opened at its first write claims its units there): a
        # return refused for units taken meanwhile stops before any ticket or compensation.
        await self._record.flush()
        self._waiting.stop_if_canceled()
        problem = _why(method, failure)
        resolution = await self._waiting.ask("booking_failed", problem, actions_for("booking_failed"), _never)
        while True:
            assert resolution is not None, "only a person resolves a failed booking"
            method, slot = self._chosen(resolution, method, slot)
            try:
                await self._shipping.book(method, slot, ship_within, new_request=resolution.action != "retry_booking")
            except ActivityError as again:
                if is_cancelled_exception(again):
                    raise
                await self._attentions.renote(_why(method, again))
                self._attentions.acknowledge()
                resolution = await self._waiting.answer(_never)
                continue
            how = {"retry_booking": "booked on a new try", "rebook_pickup": "pickup booked in another slot"}.get(
                resolution.action, SWITCHED_TO_DROP_OFF
            )
            await self._attentions.clear(how + (f" ({resolution.note})" if resolution.note else ""))
            self._attentions.acknowledge()
            return slot if method == "pickup" else None

    @staticmethod
    def _chosen(
        resolution: Resolution, method: LogisticsMethod, slot: PickupSlot | None
    ) -> tuple[LogisticsMethod, PickupSlot | None]:
        """The booking a person's action asks for next (``cancel`` stops the return)."""
        if resolution.action == "cancel":
            raise ReturnStopped(Status.CANCELED, resolution.note or "canceled by an operator", by_person=True)
        if resolution.action == "rebook_pickup":
            assert resolution.pickup_slot is not None, "the resolve validator requires the new slot"
            return "pickup", resolution.pickup_slot
        if resolution.action == "switch_to_drop_off":
            return "drop_off", None
        return method, slot


def _never() -> bool:
    return False


def _why(method: LogisticsMethod, failure: ActivityError) -> str:
    if refused_by_partner(failure):
        return f"the carrier refused to book the {method.replace('_', '-')}: {failure.cause}"
    return f"the carrier did not book the {method.replace('_', '-')} within a day of tries: {failure.cause or failure}"
