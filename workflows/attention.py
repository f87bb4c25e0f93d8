"""The attentions of a return: shown on it, ticketed, and resolved by a person's action or the awaited event.

Attentions stack: a new problem (a parcel overdue) can arise while an older one is
still open (a refund that failed at the first scan); the newest is shown and
resolved first. While any is open the return shows ``needs_attention``; the saga's
own step goes on underneath (``ReturnRecord.stage``).

A person acts through the ``resolve`` Update: the handler queues the resolution
here and waits until the saga has carried it out (``acknowledge``).
"""

from collections.abc import Callable

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain import tickets
    from domain.attention import Attention, AttentionAction, AttentionReason, Resolution
    from messages import return_activities as act
    from workflows.calls import store
    from workflows.return_record import ReturnRecord
    from workflows.sla_compensation import SlaCompensator

# Escalations before this marker only showed needs_attention (no actions, no ticket); their histories replay so.
ATTENTION_PATCH = "attention-actions"


class Attentions:
    def __init__(self, record: ReturnRecord, compensator: SlaCompensator) -> None:
        self._record = record
        self._compensator = compensator
        self._open: list[tuple[Attention, str]] = []  # (attention, its ticket's dedupe key)
        self._raised = 0
        self._queued: list[Resolution] = []
        self.received = 0  # resolutions accepted by the update handler
        self.carried_out = 0  # … and carried out by the saga

    @property
    def current(self) -> Attention | None:
        return self._open[-1][0] if self._open else None

    @property
    def has_queued(self) -> bool:
        return bool(self._queued)

    def queue(self, resolution: Resolution) -> int:
        """Called by the update handler; returns the number to wait for in ``carried_out``."""
        self._queued.append(resolution)
        self.received += 1
        return self.received

    def take(self) -> Resolution:
        return self._queued.pop(0)

    def acknowledge(self) -> None:
        """The resolution taken last has been carried out; its update answers now."""
        self.carried_out += 1

    async def raise_(self, reason: AttentionReason, note: str, actions: list[AttentionAction]) -> None:
        """Show the attention on the return (status ``needs_attention``, high priority) and open its ticket;
        the customer gets the policy's compensation for the reason, if any."""
        view = self._record.view
        self._raised += 1
        key = tickets.attention_key(view.id, self._raised)
        attention = Attention(reason=reason, note=note, since=workflow.now(), actions=actions)
        self._open.append((attention, key))
        await store(
            act.OPEN_TICKET,
            act.OpenTicket(
                dedupe_key=key,
                kind=reason,
                return_id=view.id,
                summary=note,
                details={"reason": reason, "actions": ", ".join(actions)},
            ),
        )
        view.attention = attention
        await self._record.escalate(note)
        await self._compensator.breached(reason)

    async def clear(self, how: str) -> None:
        """The newest attention is resolved (``how`` says by what); its ticket too, and the return shows
        the next open attention, or its saga step again."""
        attention, key = self._open.pop()
        view = self._record.view
        await store(act.RESOLVE_TICKET, act.ResolveTicket(dedupe_key=key, resolution=how))
        view.attention = self.current
        if view.attention is None:
            view.priority = "high" if self._record.urged_at else "normal"
            await self._record.transition(self._record.stage, f"{attention.reason} resolved: {how}")
        else:
            await self._record.note(f"{attention.reason} resolved: {how}")

    async def wait(self, resolved_by_itself: Callable[[], bool]) -> Resolution | None:
        """Wait for a person's resolution of the newest attention (returned, to be carried out and
        acknowledged by the caller), or for the awaited event (``resolved_by_itself``: None, cleared here).

        No timer of its own: the return already waits past an SLA, and the hourly stuck-return sweep
        tickets an attention nobody acts on.
        """
        await self._record.flush()
        await workflow.wait_condition(lambda: self.has_queued or resolved_by_itself())
        if self.has_queued:
            return self.take()
        await self.clear("the awaited step happened")
        return None

    async def close_all(self, how: str) -> None:
        """The return ends: every open attention's ticket is resolved and none is shown any more."""
        while self._open:
            _, key = self._open.pop()
            await store(act.RESOLVE_TICKET, act.ResolveTicket(dedupe_key=key, resolution=how))
        self._record.view.attention = None

    async def renote(self, note: str) -> None:
        """The person's action did not resolve the attention (a retried refund failed again): say why now."""
        attention = self.current
        assert attention is not None
        attention.note = note
        await self._record.note(note)

    async def decision(self) -> Resolution:
        """Wait for a person's resolution of an attention only a person can resolve."""
        resolution = await self.wait(lambda: False)
        assert resolution is not None
        return resolution
