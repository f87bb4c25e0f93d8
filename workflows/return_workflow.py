"""ReturnWorkflow: one return, from request to refund, as a saga.

decide → (review) → book the carrier → wait for the parcel → receive → inspect →
warehouse intake → refund → completed.

Every forward step with an effect outside registers its undo in
``self._compensations``; cancel, expiry, rejection or a workflow cancellation
runs them in reverse. Every wait has a timer. Reviewers, warehouse staff and
customers act through Updates (validated before they enter history), carrier
scans arrive as Signals, and ``view`` is the Query of the current state.
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities import messages as act
    from domain.money import quantize
    from domain.policy import Evaluation, evaluate, inspection_deductions, refusal_errors
    from domain.returns import (
        CANCELABLE_STATUSES,
        FINAL_STATUSES,
        CancelRequest,
        Decision,
        Hold,
        Inspection,
        Logistics,
        Refund,
        ReturnLine,
        ReturnView,
        Status,
        TimelineEntry,
    )
    from workflows.calls import partner, store
    from workflows.messages import (
        INELIGIBLE,
        INVALID_INPUT,
        RETURN_STATUS,
        STATUS_CONFLICT,
        WORKFLOW_NAME,
        CarrierScan,
        ReviewDecision,
        StartReturn,
    )
    from workflows.payout import pay_out

# How long a parcel may travel before a person is asked to look.
TRANSIT_SLA = timedelta(days=30)

# Scan events mapped to how far the parcel has got.
SCAN_STAGE = {"picked_up": 1, "in_transit": 1, "delivered": 2}


class ReturnStopped(Exception):
    """Ends the forward path early (cancel, expiry, rejection); compensations run."""

    def __init__(self, status: Status, note: str):
        super().__init__(note)
        self.status = status
        self.note = note


@workflow.defn(name=WORKFLOW_NAME)
class ReturnWorkflow:
    @workflow.init
    def __init__(self, start: StartReturn) -> None:
        self._start = start
        self._view: ReturnView | None = None
        self._refusal: ApplicationError | None = None
        self._revision = 0
        self._compensations: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        # The saga step we are in; the shown status can differ (needs_attention).
        self._stage = Status.REQUESTED
        self._cancel: CancelRequest | None = None
        self._review: ReviewDecision | None = None
        self._inspection: Inspection | None = None
        self._scan_stage = 0
        self._carrier_exceptions: list[str] = []
        # Can change on the way: an exchange whose replacement is out of stock becomes a refund.
        self._resolution = start.request.resolution
        self._replacements: act.Replacements | None = None

    # ---- the saga ---------------------------------------------------------

    @workflow.run
    async def run(self, start: StartReturn) -> ReturnView:
        evaluation = evaluate(
            start.order,
            start.request,
            start.policy,
            start.requested_at,
            risk=start.risk,
            already_returned=start.already_returned,
        )
        problem = self._ineligibility(evaluation)
        if problem:
            self._refusal = problem
            await workflow.wait_condition(workflow.all_handlers_finished)
            raise problem
        view = self._open_view(evaluation)
        try:
            await store(
                act.OPEN_RETURN,
                act.OpenReturn(
                    view=view,
                    revision=self._next_revision(),
                    units={ln.line_id: ln.quantity for ln in view.lines},
                    request=start.request,
                ),
            )
        except ActivityError as failure:
            self._refusal = ApplicationError(
                "some units are no longer returnable",
                *getattr(failure.cause, "details", ()),
                type=INELIGIBLE,
                non_retryable=True,
            )
            await workflow.wait_condition(workflow.all_handlers_finished)
            raise self._refusal from None
        self._view = view
        self._show(view.status, "")
        self._compensations.append(("release the held units", self._release_units))
        try:
            await self._forward(evaluation)
        except ReturnStopped as stop:
            await self._compensate()
            await self._transition(stop.status, stop.note)
        except asyncio.CancelledError:
            # Temporal cancellation (an operator in the UI): undo, record, and end canceled.
            await asyncio.shield(asyncio.ensure_future(self._stop_on_cancellation()))
            raise
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._view

    async def _forward(self, evaluation: Evaluation) -> None:
        if evaluation.outcome == "needs_review":
            await self._await_review()
        if evaluation.type == "cancellation" and await self._intercepted():
            await self._refund(show_pending=True)
            return
        if not evaluation.ships_back and evaluation.type != "cancellation":
            await self._revoke_virtual_goods()
            await self._refund(show_pending=True)
            return
        if evaluation.type == "exchange":
            await self._reserve_replacements(evaluation)
        trigger = self._refund_trigger()
        ship_replacement_on = self._start.policy.exchange_ship_on
        await self._book_shipment()
        await self._await_scan(1, self._ship_by_timeout(), on_timeout=self._expire)
        await self._transition(Status.IN_TRANSIT)
        if not await self._settle_on("first_scan", trigger, ship_replacement_on):
            return
        await self._await_scan(2, TRANSIT_SLA, on_timeout=self._escalate_transit)
        await self._transition(Status.RECEIVED)
        await self._revoke_virtual_goods()
        if not await self._settle_on("receipt", trigger, ship_replacement_on):
            return
        await self._await_inspection()
        await self._intake()
        if self._replacements:
            await self._transition(Status.COMPLETED, "exchange complete: the replacement is on its way")
        elif trigger == "inspection":
            await self._refund(show_pending=True)
        else:
            await self._transition(Status.COMPLETED, "received, inspected and refunded")

    async def _settle_on(self, moment: str, refund_trigger: str, ship_replacement_on: str) -> bool:
        """At first scan or receipt: ship an exchange's replacement, or refund, when the policy says so.

        False when a refund failed and a person must now act.
        """
        if self._replacements:
            if moment == ship_replacement_on:
                await self._ship_replacements()
            return True
        if moment == refund_trigger:
            return await self._refund(show_pending=False)
        return True

    async def _reserve_replacements(self, evaluation: Evaluation) -> None:
        view, request = self.view_model, self._start.request
        quantities = {line.line_id: line.quantity for line in view.lines}
        wanted = act.ReserveReplacements(
            return_id=view.id,
            items=[
                act.Replacement(line_id=item.line_id, sku=item.sku, quantity=quantities[item.line_id])
                for item in request.exchange_items
            ],
        )
        held = await partner(act.RESERVE_REPLACEMENTS, wanted, act.Replacements)
        if held.out_of_stock:
            self._resolution = self._start.policy.exchange_out_of_stock
            as_credit = self._resolution == "store_credit"
            view.type = "return"
            view.refund = Refund(
                method="store_credit" if as_credit else "original",
                currency=view.refund.currency,
                amount=evaluation.store_credit_estimate if as_credit else evaluation.refund_estimate,
                fees=evaluation.fees,
            )
            await self._note(
                f"replacement {', '.join(held.out_of_stock)} is out of stock: "
                f"{'store credit' if as_credit else 'a refund'} instead"
            )
            return
        self._replacements = held
        self._compensations.append(("release the replacement", lambda: self._release_replacements(held)))
        await self._note("replacement reserved")

    async def _release_replacements(self, held: act.Replacements) -> None:
        await partner(act.RELEASE_REPLACEMENTS, held)

    async def _ship_replacements(self) -> None:
        assert self._replacements is not None
        shipped = await partner(act.SHIP_REPLACEMENTS, self._replacements, act.Shipped)
        # Once shipped there is nothing to release.
        self._compensations = [(what, undo) for what, undo in self._compensations if what != "release the replacement"]
        self.view_model.refund.status = "succeeded"
        await self._note("replacement shipped: " + ", ".join(shipped.tracking_numbers))

    async def _intercepted(self) -> bool:
        """Ask the warehouse to stop the unshipped order; if it already left, carry on as a return."""
        self._stop_if_canceled()
        view = self.view_model
        answer = await partner(
            act.INTERCEPT_ORDER, act.InterceptOrder(return_id=view.id, order_id=view.order_id), act.Interception
        )
        if answer.intercepted:
            await self._note("the warehouse stopped the order before it shipped")
            return True
        view.type = "return"
        requested = self._start.request.logistics.method
        view.logistics = Logistics(method="mail" if requested == "none" else requested)
        await self._note(f"the parcel had already left the warehouse ({answer.reason}): continuing as a return")
        return False

    def _refund_trigger(self) -> str:
        """When money goes back. A deposit waits for inspection; virtual goods for the physical part."""
        trigger = self._start.policy.refund_trigger
        if self.view_model.refund.holds:
            return "inspection"
        if trigger == "first_scan" and self._virtual_lines():
            return "receipt"
        return trigger

    async def _await_review(self) -> None:
        await self._transition(Status.UNDER_REVIEW)
        sla = timedelta(hours=self._start.policy.review_sla_hours)
        if not await self._wait(lambda: self._review is not None, sla):
            await self._escalate(f"no review within {self._start.policy.review_sla_hours} hours")
            await self._wait(lambda: self._review is not None, None)
        assert self._review is not None
        if self._review.decision == "reject":
            raise ReturnStopped(Status.REJECTED, self._review.note or "rejected by a reviewer")
        self.view_model.decision.outcome = "approved"
        await self._transition(Status.APPROVED, self._review.note)

    async def _book_shipment(self) -> None:
        self._stop_if_canceled()
        view = self.view_model
        booked = await partner(
            act.BOOK_SHIPMENT,
            act.BookShipment(
                return_id=view.id, order_id=view.order_id, method=view.logistics.method, pickup_slot=self._pickup_slot()
            ),
            act.ShipmentBooked,
        )
        tracking = booked.tracking_number
        self._compensations.append(("cancel the shipment", lambda: self._cancel_shipment(tracking)))
        view.logistics = Logistics(
            method=view.logistics.method,
            carrier=booked.carrier,
            tracking_number=tracking,
            label_url=booked.label_url,
            ship_by=workflow.now() + self._ship_by_timeout(),
        )
        await self._transition(Status.AWAITING_SHIPMENT)

    async def _await_scan(self, stage: int, within: timedelta, on_timeout: Callable[[], Awaitable[None]]) -> None:
        if not await self._wait(lambda: self._scan_stage >= stage, within):
            await on_timeout()
            await self._wait(lambda: self._scan_stage >= stage, None)

    async def _expire(self) -> None:
        raise ReturnStopped(Status.EXPIRED, f"not shipped within {self._start.policy.ship_by_days} days")

    async def _escalate_transit(self) -> None:
        await self._escalate(f"parcel not delivered {TRANSIT_SLA.days} days after pickup")

    async def _await_inspection(self) -> None:
        sla_hours = self._start.policy.inspection_sla_hours
        if not await self._wait(lambda: self._inspection is not None, timedelta(hours=sla_hours)):
            await self._escalate(f"not inspected within {sla_hours} hours of receipt")
            await self._wait(lambda: self._inspection is not None, None)

    async def _intake(self) -> None:
        view = self.view_model
        items = [
            act.IntakeItem(
                sku=ln.sku, quantity=ln.quantity, condition=ln.condition or "", disposition=ln.disposition or ""
            )
            for ln in view.lines
        ]
        await partner(act.WAREHOUSE_INTAKE, act.WarehouseIntake(return_id=view.id, lines=items))

    def _settle_inspection(self) -> str:
        """Apply what inspection found: graded deductions, and the deposit released or kept."""
        refund = self.view_model.refund
        deductions, notes = inspection_deductions(self.view_model.lines, self._start.policy, refund.currency)
        refund.deductions += deductions
        kept = sum((deduction.amount for deduction in deductions), Decimal(0))
        as_sold = all(ln.condition in (None, "as_new", "opened") for ln in self.view_model.lines)
        for hold in refund.holds:
            if hold.status != "held":
                continue
            hold.status = "released" if as_sold else "kept"
            if not as_sold:
                kept += hold.amount
                notes.append(f"deposit of {hold.amount} {refund.currency} kept: items not as sold")
        refund.amount = max(refund.amount - kept, quantize(Decimal(0), refund.currency))
        return "; ".join(notes)

    async def _refund(self, show_pending: bool) -> bool:
        """Pay the return out; True when paid. With ``show_pending`` it ends the saga ``completed``."""
        self._stop_if_canceled()
        view, policy = self.view_model, self._start.policy
        held_back = self._settle_inspection() if self._inspection is not None else ""
        if show_pending:
            await self._transition(Status.REFUND_PENDING, held_back)
        outcome = await pay_out(
            view,
            self._start.order.payments,
            as_store_credit=self._resolution == "store_credit",
            fall_back_to_store_credit=policy.refund_failure_fallback == "store_credit",
        )
        if not outcome.paid:
            view.refund.status = "failed"
            await store(
                act.OPEN_TICKET,
                act.OpenTicket(
                    dedupe_key=f"refund_failed:{view.id}",
                    kind="refund_failed",
                    return_id=view.id,
                    summary=outcome.problem or "refund failed",
                ),
            )
            await self._escalate(outcome.problem or "refund failed")
            return False
        view.refund.status = "succeeded"
        paid = f"paid {view.refund.amount} {view.refund.currency}" + (
            " as store credit" if view.refund.method == "store_credit" else ""
        )
        note = "; ".join([paid, *outcome.notes])
        if show_pending:
            await self._transition(Status.COMPLETED, note)
        else:
            await self._note(note)
        return True

    def _virtual_lines(self) -> list[act.EntitlementLine]:
        kinds = {line.line_id: line.kind for line in self._start.order.lines}
        return [
            act.EntitlementLine(line_id=ln.line_id, sku=ln.sku, quantity=ln.quantity)
            for ln in self.view_model.lines
            if kinds.get(ln.line_id) == "virtual"
        ]

    async def _revoke_virtual_goods(self) -> None:
        lines = self._virtual_lines()
        if lines:
            view = self.view_model
            await partner(
                act.REVOKE_ENTITLEMENTS, act.RevokeEntitlements(return_id=view.id, order_id=view.order_id, lines=lines)
            )
            await self._note(f"revoked {len(lines)} digital entitlement(s)")

    # ---- compensation -----------------------------------------------------

    async def _compensate(self) -> None:
        """Undo in reverse order; an undo that fails is noted for a person, the rest still run."""
        while self._compensations:
            what, undo = self._compensations.pop()
            try:
                await undo()
            except Exception as failure:
                workflow.logger.warning("compensation failed", extra={"step": what, "error": str(failure)})
                self.view_model.timeline.append(
                    TimelineEntry(status=self.view_model.status, at=workflow.now(), note=f"could not {what}")
                )

    async def _stop_on_cancellation(self) -> None:
        await self._compensate()
        await self._transition(Status.CANCELED, "the workflow was cancelled")

    async def _release_units(self) -> None:
        await store(act.RELEASE_UNITS, act.ReturnRef(return_id=self.view_model.id))

    async def _cancel_shipment(self, tracking_number: str) -> None:
        await partner(
            act.CANCEL_SHIPMENT, act.CancelShipment(return_id=self.view_model.id, tracking_number=tracking_number)
        )

    # ---- waiting ----------------------------------------------------------

    async def _wait(self, done: Callable[[], bool], within: timedelta | None) -> bool:
        """Wait for ``done`` with a timer; True if it happened, False on timeout.

        A cancel request or a carrier exception wakes the wait: the first stops
        the saga, the second is escalated and the wait goes on.
        """
        deadline = workflow.now() + within if within is not None else None
        while True:
            remaining = (deadline - workflow.now()) if deadline is not None else None
            try:
                await workflow.wait_condition(
                    lambda: done() or self._cancel is not None or bool(self._carrier_exceptions), timeout=remaining
                )
            except TimeoutError:
                return False
            self._stop_if_canceled()
            if self._carrier_exceptions:
                await self._escalate(f"carrier reported: {self._carrier_exceptions.pop(0)}")
                continue
            return True

    def _stop_if_canceled(self) -> None:
        if self._cancel is not None:
            raise ReturnStopped(Status.CANCELED, self._cancel.note or "canceled on request")

    # ---- the read model ---------------------------------------------------

    @property
    def view_model(self) -> ReturnView:
        assert self._view is not None, "the return has not been opened"
        return self._view

    def _next_revision(self) -> int:
        self._revision += 1
        return self._revision

    async def _transition(self, status: Status, note: str = "") -> None:
        view = self.view_model
        if status != Status.NEEDS_ATTENTION:  # escalation shows on the status; the saga step stays
            self._stage = status
        view.status, view.updated_at = status, workflow.now()
        view.timeline.append(TimelineEntry(status=status, at=view.updated_at, note=note))
        self._show(status, note)
        await self._save()

    def _show(self, status: Status, note: str) -> None:
        """What operators see in Temporal UI: the status as a search attribute and as current details."""
        workflow.upsert_search_attributes([RETURN_STATUS.value_set(status.value)])
        workflow.set_current_details(f"**{status.value}** {note}".strip())

    async def _note(self, note: str) -> None:
        """A timeline entry that does not change the status."""
        view = self.view_model
        view.updated_at = workflow.now()
        view.timeline.append(TimelineEntry(status=view.status, at=view.updated_at, note=note))
        await self._save()

    async def _save(self) -> None:
        await store(act.SAVE_RETURN, act.SnapshotOfReturn(view=self.view_model, revision=self._next_revision()))

    async def _escalate(self, note: str) -> None:
        self.view_model.priority = "high"
        await self._transition(Status.NEEDS_ATTENTION, note)

    def _open_view(self, evaluation: Evaluation) -> ReturnView:
        start, request, order = self._start, self._start.request, self._start.order
        now = workflow.now()
        lines = []
        for wanted, judged in zip(request.lines, evaluation.lines, strict=True):
            ordered = order.line(wanted.line_id)
            assert ordered is not None
            lines.append(
                ReturnLine(
                    line_id=wanted.line_id,
                    quantity=wanted.quantity,
                    reason=wanted.reason,
                    liability=judged.liability,
                    unit_price=ordered.unit_price,
                    sku=ordered.sku,
                )
            )
        approved = evaluation.outcome in ("auto_approved", "approved")
        store_credit = request.resolution == "store_credit"
        exchange = request.resolution == "exchange"
        self._stage = Status.APPROVED if approved else Status.REQUESTED
        timeline = [TimelineEntry(status=Status.REQUESTED, at=start.requested_at, note="")]
        if approved:
            timeline.append(TimelineEntry(status=Status.APPROVED, at=now, note="; ".join(evaluation.rules)))
        return ReturnView(
            id=start.return_id,
            order_id=order.order_id,
            customer_id=order.customer_id,
            type=evaluation.type,
            status=Status.APPROVED if approved else Status.REQUESTED,
            lines=lines,
            decision=Decision(
                outcome=evaluation.outcome,
                rules=evaluation.rules,
                risk=evaluation.risk,
                risk_reasons=evaluation.risk_reasons,
            ),
            logistics=Logistics(method=request.logistics.method if evaluation.ships_back else "none"),
            refund=Refund(
                method="store_credit" if store_credit else "original",
                amount=(
                    quantize(Decimal(0), order.currency)
                    if exchange
                    else evaluation.store_credit_estimate
                    if store_credit
                    else evaluation.refund_estimate
                ),
                currency=order.currency,
                fees=evaluation.fees,
                holds=[Hold(amount=evaluation.deposit)] if evaluation.deposit else [],
            ),
            timeline=timeline,
            policy_version=start.policy_version,
            created_at=start.requested_at,
            updated_at=now,
        )

    def _ineligibility(self, evaluation: Evaluation) -> ApplicationError | None:
        errors = refusal_errors(evaluation, self._start.request)
        if not errors:
            return None
        return ApplicationError("the return is not eligible", *errors, type=INELIGIBLE, non_retryable=True)

    def _ship_by_timeout(self) -> timedelta:
        return timedelta(days=self._start.policy.ship_by_days)

    def _pickup_slot(self) -> dict | None:
        slot = self._start.request.logistics.pickup_slot
        return {"start": slot.start, "end": slot.end} if slot else None

    # ---- handlers ---------------------------------------------------------

    # A refused return's workflow fails in the same task that fails this update; the API then reads
    # the workflow's failure for the reason (api/workflow_calls.explain_update_failure).
    @workflow.update(unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)
    async def decision(self) -> ReturnView:
        """Answers once the policy has decided (used with Update-with-Start by ``POST /v1/returns``)."""
        await workflow.wait_condition(lambda: self._view is not None or self._refusal is not None)
        if self._refusal is not None:
            raise self._refusal
        return self.view_model

    @workflow.update
    async def cancel(self, request: CancelRequest) -> ReturnView:
        self._cancel = request
        await workflow.wait_condition(lambda: self._stage in FINAL_STATUSES)
        if self._stage != Status.CANCELED:
            raise ApplicationError(
                f"the return ended {self._stage.value} before it could be canceled", type=STATUS_CONFLICT
            )
        return self.view_model

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        if self._stage not in CANCELABLE_STATUSES or self._cancel is not None:
            raise ApplicationError(
                f"a return that is {self._stage.value} can no longer be canceled", type=STATUS_CONFLICT
            )

    @workflow.update
    async def review(self, review: ReviewDecision) -> ReturnView:
        self._review = review
        await workflow.wait_condition(lambda: self._stage != Status.UNDER_REVIEW)
        return self.view_model

    @review.validator
    def _validate_review(self, review: ReviewDecision) -> None:
        if self._stage != Status.UNDER_REVIEW or self._review is not None:
            raise ApplicationError(
                f"a return that is {self._stage.value} is not waiting for review", type=STATUS_CONFLICT
            )

    @workflow.update
    async def inspect(self, inspection: Inspection) -> ReturnView:
        by_line = {ln.line_id: ln for ln in inspection.lines}
        for line in self.view_model.lines:
            line.condition, line.disposition = by_line[line.line_id].condition, by_line[line.line_id].disposition
        self._inspection = inspection
        await self._transition(Status.INSPECTED, "; ".join(ln.note for ln in inspection.lines if ln.note))
        return self.view_model

    @inspect.validator
    def _validate_inspection(self, inspection: Inspection) -> None:
        if self._stage != Status.RECEIVED or self._inspection is not None:
            raise ApplicationError(f"a return that is {self._stage.value} cannot be inspected", type=STATUS_CONFLICT)
        expected = {ln.line_id for ln in self.view_model.lines}
        given = [ln.line_id for ln in inspection.lines]
        if sorted(given) != sorted(expected):
            raise ApplicationError(
                "inspect every line of the return exactly once",
                *[{"line_id": lid, "code": "unknown_line"} for lid in given if lid not in expected],
                *[{"line_id": lid, "code": "line_not_inspected"} for lid in expected if lid not in given],
                type=INVALID_INPUT,
            )

    @workflow.signal
    def carrier_scan(self, scan: CarrierScan) -> None:
        """Scans may repeat or arrive out of order; only progress counts."""
        if scan.event == "exception":
            self._carrier_exceptions.append(f"exception at {scan.occurred_at.isoformat()}")
            return
        self._scan_stage = max(self._scan_stage, SCAN_STAGE[scan.event])

    @workflow.query
    def view(self) -> ReturnView | None:
        return self._view
