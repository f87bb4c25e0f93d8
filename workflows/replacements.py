"""An exchange's replacement: reserved at approval, released if the return stops, shipped when the policy says."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.compensations import CompensationStep
    from domain.evaluation import Evaluation
    from domain.exchanges import out_of_stock_refund
    from domain.policy import Policy
    from domain.returns import ExchangeItem
    from messages import return_activities as act
    from workflows.calls import partner
    from workflows.return_record import ReturnRecord
    from workflows.saga import Compensations


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
            view.type = "return"
            view.refund = out_of_stock_refund(policy, evaluation)
            instead = "store credit" if policy.exchange_out_of_stock == "store_credit" else "a refund"
            await self._record.note(f"replacement {', '.join(held.out_of_stock)} is out of stock: {instead} instead")
            return False
        self.held = held
        self._compensations.add(CompensationStep.RELEASE_REPLACEMENT, lambda: self._release(held))
        await self._record.note("replacement reserved")
        return True

    async def ship(self) -> None:
        assert self.held is not None
        shipped = await partner(act.SHIP_REPLACEMENTS, self.held)
        # Once shipped there is nothing to release.
        self._compensations.discard(CompensationStep.RELEASE_REPLACEMENT)
        self.shipped = True
        self._record.view.refund.status = "succeeded"
        await self._record.note("replacement shipped: " + ", ".join(shipped.tracking_numbers))

    async def _release(self, held: act.Replacements) -> None:
        await partner(act.RELEASE_REPLACEMENTS, held)
