"""The refund step of a return: pay it out, and when the payment fails, wait for a person's way forward.

A refund that fails at the first scan or at receipt stays *outstanding* while the
parcel goes on (a person's action is carried out whenever it comes, see
``workflows/waiting.py``); the return completes only once it is paid.
"""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain import tickets
    from domain.attention import Resolution, actions_for
    from domain.inspection import settle_inspection
    from domain.orders import Order
    from domain.policy import Policy
    from domain.returns import Status
    from messages import return_activities as act
    from workflows import shapes
    from workflows.attention import ATTENTION_PATCH, Attentions
    from workflows.calls import store
    from workflows.payout import PayOutResult, pay_out, pay_remainder_as_store_credit, record_outside_refund
    from workflows.return_record import ReturnRecord


class Refunding:
    def __init__(self, record: ReturnRecord, attentions: Attentions, order: Order, policy: Policy) -> None:
        self._record = record
        self._attentions = attentions
        self._order = order
        self._policy = policy
        # What the customer gets; an exchange whose replacement is out of stock becomes a refund.
        self.resolution = "refund"
        self.refunded = False
        self.outstanding = False

    async def refund(self, show_pending: bool, inspected: bool) -> bool:
        """Pay the return out. With ``show_pending`` it ends the saga ``completed`` (after a person's
        help if the payment fails); at the first scan or receipt a failed payment waits for a person
        while the parcel goes on. False only for histories from before attentions, where it stopped."""
        view = self._record.view
        held_back = ""
        if inspected:
            settlement = settle_inspection(view.lines, view.refund, self._policy)
            view.refund, held_back = settlement.refund, settlement.note
        if show_pending:
            await self._record.transition(Status.REFUND_PENDING, held_back)
        outcome = await self._pay()
        if outcome.paid:
            self.refunded = True
            view.refund.status = "succeeded"
            paid = f"paid {view.refund.amount} {view.refund.currency}" + (
                " as store credit" if view.refund.method == "store_credit" else ""
            )
            note = "; ".join([paid, *outcome.notes])
            if show_pending:
                await self._record.transition(Status.COMPLETED, note)
            else:
                await self._record.note(note)
            return True
        view.refund.status = "failed"
        problem = outcome.problem or "refund failed"
        if not shapes.patched(ATTENTION_PATCH):
            ticket = act.OpenTicket(
                dedupe_key=tickets.refund_failed_key(view.id), kind="refund_failed", return_id=view.id, summary=problem
            )
            await store(act.OPEN_TICKET, ticket)
            await self._record.escalate(problem)
            return False
        await self._attentions.raise_("refund_failed", problem, actions_for("refund_failed"))
        self.outstanding = True
        if show_pending:
            await self.settle_outstanding()
        return True

    async def settle_outstanding(self) -> None:
        """The return cannot complete before a person has found a way to pay what a failed refund owes."""
        while self.outstanding:
            await self.carry_out(await self._attentions.decision())
        await self._record.transition(Status.COMPLETED, "refunded after a person acted")

    async def carry_out(self, resolution: Resolution) -> None:
        """A person's way forward for the failed refund: retry, store credit, or paid outside returnflow."""
        view = self._record.view
        if resolution.action == "retry_refund":
            outcome = await self._pay()
        elif resolution.action == "refund_as_store_credit":
            outcome = await pay_remainder_as_store_credit(self._record)
        else:  # mark_refunded
            outcome = await record_outside_refund(view, resolution.reference)
        if outcome.paid:
            self.refunded, self.outstanding = True, False
            view.refund.status = "succeeded"
            await self._attentions.clear("; ".join([resolution.action, *outcome.notes]))
        else:
            await self._attentions.renote(outcome.problem or "refund failed")
        self._attentions.acknowledge()

    async def _pay(self) -> PayOutResult:
        return await pay_out(
            self._record,
            self._order.payments,
            as_store_credit=self.resolution == "store_credit",
            fall_back_to_store_credit=self._policy.refund_failure_fallback == "store_credit",
        )
