"""How a return waits: for people and carriers, each wait with its timer, and a person's help past it.

``Inbox`` is what the workflow's handlers were told (a cancel, a review, an
inspection, scans); ``Waiting`` waits on it. A wait wakes for a cancel (the saga
stops), a carrier exception (a person decides what it means), or a person's
action on a refund that failed on the way (carried out, and the wait goes on).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.attention import AttentionAction, AttentionReason, Resolution, actions_for
    from domain.compensations import CompensationStep
    from domain.returns import CancelRequest, Inspection, ReviewDecision, Status
    from domain.urging import hurried_deadline
    from workflows import shapes
    from workflows.attention import ATTENTION_PATCH, Attentions
    from workflows.deadline_timer import DeadlineTimer
    from workflows.refunding import Refunding
    from workflows.return_record import ReturnRecord
    from workflows.saga import Compensations
    from workflows.stops import ParcelLost, ReturnStopped


@dataclass
class Inbox:
    cancel: CancelRequest | None = None
    review: ReviewDecision | None = None
    inspection: Inspection | None = None
    scan_stage: int = 0  # 1 on its way, 2 arrived (domain.returns.scan_progress)
    carrier_exceptions: list[str] = field(default_factory=list)


class Waiting:
    def __init__(
        self,
        inbox: Inbox,
        record: ReturnRecord,
        attentions: Attentions,
        refunding: Refunding,
        compensations: Compensations,
    ) -> None:
        self._inbox = inbox
        self._record = record
        self._attentions = attentions
        self._refunding = refunding
        self._compensations = compensations
        # The one timer its waits share (runs of shape 1 on); before, each wait had a timer of its own.
        self._timer = DeadlineTimer()
        # The deadline of the wait an urge may bring forward: one on us (a review, an inspection), or the
        # parcel's transit while the refund waits for its arrival.
        self.hurriable_deadline: datetime | None = None

    def hurry(self, factor: Decimal) -> datetime | None:
        """An urge: the pending hurriable deadline comes closer (its new time; None if nothing waits)."""
        if self.hurriable_deadline is None:
            return None
        self.hurriable_deadline = hurried_deadline(self.hurriable_deadline, workflow.now(), factor)
        return self.hurriable_deadline

    async def wait(
        self, done: Callable[[], bool], within: timedelta | None, timer: str, hurriable: bool = False
    ) -> bool:
        """Wait for ``done`` with a timer; True if it happened, False on timeout (a decision to wait
        longer after a carrier exception restarts the timer). A ``hurriable`` wait's timer follows ``hurry``.
        ``timer`` names the deadline for the timer's summary in Temporal UI ("ship-by deadline 14 d")."""
        deadline = workflow.now() + within if within is not None else None
        if hurriable:
            self.hurriable_deadline = deadline
        try:
            return await self._wait(done, within, deadline, timer, hurriable)
        finally:
            if hurriable:
                self.hurriable_deadline = None

    async def _wait(
        self,
        done: Callable[[], bool],
        within: timedelta | None,
        deadline: datetime | None,
        timer: str,
        hurriable: bool,
    ) -> bool:
        inbox = self._inbox
        while True:
            await self._record.flush()

            def woken() -> bool:
                return (
                    done()
                    or inbox.cancel is not None
                    or bool(inbox.carrier_exceptions)
                    or self._attentions.has_queued
                    or self._hurried(hurriable, deadline)  # noqa: B023 (awaited in this iteration)
                )

            if shapes.at_least(1):
                if not await self._wait_sharing_the_timer(woken, deadline, timer):
                    return False
            else:
                remaining = (deadline - workflow.now()) if deadline is not None else None
                summary = f"{timer} {in_words(remaining)}" if remaining is not None else None
                try:
                    await workflow.wait_condition(woken, timeout=remaining, timeout_summary=summary)
                except TimeoutError:
                    return False
            if self._hurried(hurriable, deadline) and not done():
                deadline = self.hurriable_deadline
                continue
            self.stop_if_canceled()
            if self._attentions.has_queued:
                await self._refunding.carry_out(self._attentions.take())
                continue
            if inbox.carrier_exceptions:
                note = f"carrier reported: {inbox.carrier_exceptions.pop(0)}"
                if not shapes.patched(ATTENTION_PATCH):
                    await self._record.escalate(note)
                elif await self._carrier_exception(note, done):
                    return True
                elif within is not None:
                    deadline = workflow.now() + within
                    if hurriable:
                        self.hurriable_deadline = deadline
                continue
            return True

    async def _wait_sharing_the_timer(self, woken: Callable[[], bool], deadline: datetime | None, timer: str) -> bool:
        """Wait until ``woken`` on the timer the return's waits share (``deadline_timer.py``); False once the
        deadline has come. A timer that an earlier wait started and that fires first only re-arms it."""
        while not woken():
            if deadline is None:
                self._timer.cancel()
            else:
                left = deadline - workflow.now()
                if left <= timedelta(0):
                    return False
                self._timer.arm(deadline, f"{timer} {in_words(left)}")
            await workflow.wait_condition(lambda: woken() or self._timer.fired)
        return True

    async def for_person(
        self,
        done: Callable[[], bool],
        sla: timedelta,
        timer: str,
        reason: AttentionReason,
        note: str,
        hurriable: bool = False,
    ) -> None:
        """Wait for ``done`` (a review, an inspection, the parcel) with its SLA (``timer`` names it); past
        it, a person decides: wait longer, or whatever else the reason offers, until ``done`` happens. A
        ``hurriable`` SLA (one on us) comes closer when the customer urges."""
        while not await self.wait(done, sla, timer, hurriable):
            if not shapes.patched(ATTENTION_PATCH):
                await self._record.escalate(note)
                await self.wait(done, None, timer)
                return
            resolution = await self.ask(reason, note, actions_for(reason, refunded=self._refunding.refunded), done)
            if resolution is None:
                return
            await self._carry_out(resolution)

    def _hurried(self, hurriable: bool, timer_deadline: datetime | None) -> bool:
        """An urge moved the deadline the timer runs to."""
        return hurriable and self.hurriable_deadline != timer_deadline

    def stop_if_canceled(self) -> None:
        if self._inbox.cancel is not None:
            raise ReturnStopped(Status.CANCELED, self._inbox.cancel.note or "canceled on request")

    async def ask(
        self, reason: AttentionReason, note: str, actions: list[AttentionAction], done: Callable[[], bool]
    ) -> Resolution | None:
        """Show the attention and wait for a person's resolution (None: ``done`` happened by itself)."""
        await self._attentions.raise_(reason, note, actions)
        return await self.answer(done)

    async def answer(self, done: Callable[[], bool]) -> Resolution | None:
        """A person's resolution of the attention shown (None: ``done`` happened by itself); a cancel stops
        the return (``ReturnStopped``)."""
        resolution = await self._attentions.wait(lambda: done() or self._inbox.cancel is not None)
        self.stop_if_canceled()
        return resolution

    async def _carry_out(self, resolution: Resolution) -> None:
        """A person's way forward for a wait that ran late (a failed refund's are in ``Refunding``)."""
        action, note = resolution.action, resolution.note
        if action == "cancel":
            raise ReturnStopped(Status.CANCELED, note or "canceled by an operator", by_person=True)
        if action == "return_to_sender":
            # The carrier takes the parcel back to the customer: its booking is not cancelled.
            self._compensations.discard(CompensationStep.CANCEL_SHIPMENT)
            raise ReturnStopped(Status.CANCELED, note or "the carrier returns the parcel to the customer", True)
        if action == "close_as_lost":
            raise ParcelLost()
        await self._attentions.clear("deadline extended" + (f": {note}" if note else ""))
        self._attentions.acknowledge()

    async def _carrier_exception(self, note: str, done: Callable[[], bool]) -> bool:
        """A person decides what a carrier's exception means for a parcel on its way; True when ``done``."""
        stage = self._record.stage
        if stage not in (Status.AWAITING_SHIPMENT, Status.IN_TRANSIT):
            await self._record.note(note)  # no parcel on its way: nothing to decide
            return False
        in_transit = stage == Status.IN_TRANSIT
        actions = actions_for("carrier_exception", refunded=self._refunding.refunded, in_transit=in_transit)
        resolution = await self.ask("carrier_exception", note, actions, done)
        if resolution is None:
            return True
        await self._carry_out(resolution)
        return False


def in_words(span: timedelta) -> str:
    """A timer's length as its summary shows it: "14 d", "2 d 12 h", "3 h 20 min", "45 s" (two units at most)."""
    seconds = max(round(span.total_seconds()), 0)  # to the second: a write just before arming takes a few ms
    parts = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount} {unit}")
    return " ".join(parts[:2]) or "0 s"
