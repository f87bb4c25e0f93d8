"""A booked pickup slot that passes with no pickup scan: the return shows ``pickup_missed`` and a person
rebooks another slot or lets the customer hand the parcel in at a counter instead (a new booking that
fails is a failed booking: ``booking_failures.py``)."""

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.attention import actions_for
    from domain.pickup_slots import PickupSlot, missed_after
    from domain.returns import LogisticsMethod
    from workflows.attention import Attentions
    from workflows.booking_failures import SWITCHED_TO_DROP_OFF, Bookings
    from workflows.shipping import Shipping
    from workflows.waiting import Inbox, Waiting

# Returns booked before this marker waited for their pickup until the ship-by deadline only.
PICKUP_WATCH_PATCH = "missed-pickup-attention"
# A slot already missed when the watch begins (a worker that was down) is still given a moment.
LEAST_WAIT = timedelta(seconds=1)


class MissedPickups:
    def __init__(
        self, inbox: Inbox, waiting: Waiting, attentions: Attentions, shipping: Shipping, bookings: Bookings
    ) -> None:
        self._inbox = inbox
        self._waiting = waiting
        self._attentions = attentions
        self._shipping = shipping
        self._bookings = bookings

    def _picked_up(self) -> bool:
        return self._inbox.scan_stage >= 1

    async def watch(self, slot: PickupSlot, ship_within: timedelta) -> None:
        """Wait for the pickup scan of ``slot`` (and of each slot rebooked after it) until the slot is
        missed; returns once the parcel is picked up or the return switched to drop-off."""
        booked: PickupSlot | None = slot
        while booked is not None:
            missed_in = max(missed_after(booked) - workflow.now(), LEAST_WAIT)
            if await self._waiting.wait(self._picked_up, missed_in, "pickup slot ends in"):
                return
            window = f"{booked.start.isoformat()} to {booked.end.isoformat()}"
            note = f"the carrier did not pick the parcel up in the slot {window}"
            resolution = await self._waiting.ask("pickup_missed", note, actions_for("pickup_missed"), self._picked_up)
            if resolution is None:
                return
            if resolution.action == "rebook_pickup":
                booked = resolution.pickup_slot
                assert booked is not None, "the resolve validator requires the new slot"
                method: LogisticsMethod = "pickup"
                how = f"pickup rebooked for {booked.start.isoformat()} to {booked.end.isoformat()}"
            else:
                booked, method = None, "drop_off"
                how = SWITCHED_TO_DROP_OFF
            try:
                await self._shipping.rebook(method, booked, ship_within)
            except ActivityError as failure:
                if not self._bookings.asks_a_person(failure):
                    raise
                # The missed booking is cancelled and the new one failed: a failed booking of its own.
                await self._attentions.clear(f"{resolution.action} asked for a new booking, which failed")
                self._attentions.acknowledge()
                booked = await self._bookings.until_booked(failure, method, booked, ship_within)
                continue
            await self._attentions.clear(how + (f" ({resolution.note})" if resolution.note else ""))
            self._attentions.acknowledge()
