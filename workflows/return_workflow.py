"""ReturnWorkflow: one return, from request to refund, as a saga.

decide → (review) → book the carrier → wait for the parcel → receive → inspect →
warehouse intake → refund → completed.

Every forward step with an effect outside registers its undo in
``self._compensations``; cancel, expiry, rejection or a workflow cancellation
runs them in reverse. Every wait has a timer. Reviewers, warehouse staff and
customers act through Updates (validated before they enter history), carrier
scans arrive as Signals, and ``view`` is the Query of the current state. The
rules (what the policy decides, what inspection takes off, what an exchange
becomes when out of stock) are in ``domain/``; this module only sequences them.
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import tickets
    from domain.compensations import CompensationStep
    from domain.evaluation import Evaluation, evaluate, refusal_errors
    from domain.inspection import apply_inspection, inspection_errors, settle_inspection
    from domain.opening import open_view
    from domain.returns import (
        CANCELABLE_STATUSES,
        FINAL_STATUSES,
        CancelRequest,
        Inspection,
        ReturnView,
        ReviewDecision,
        Status,
        scan_progress,
        virtual_lines,
    )
    from domain.sla import TRANSIT_SLA
    from messages import return_activities as act
    from messages.errors import ErrorType
    from messages.returns import WORKFLOW_NAME, CarrierScan, StartReturn
    from workflows.calls import store
    from workflows.entitlements import revoke_virtual_goods
    from workflows.payout import pay_out
    from workflows.replacements import Replacements
    from workflows.return_record import ReturnRecord
    from workflows.saga import Compensations
    from workflows.shipping import Shipping


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
        self._record = ReturnRecord()
        self._refusal: ApplicationError | None = None
        self._compensations = Compensations()
        self._cancel: CancelRequest | None = None
        self._review: ReviewDecision | None = None
        self._inspection: Inspection | None = None
        self._scan_stage = 0
        self._carrier_exceptions: list[str] = []
        # Can change on the way: an exchange whose replacement is out of stock becomes a refund.
        self._resolution = start.request.resolution
        self._replacements = Replacements(self._record, self._compensations)
        self._shipping = Shipping(self._record, self._compensations)

    # ---- the saga ---------------------------------------------------------

    @workflow.run
    async def run(self, start: StartReturn) -> ReturnView:
        # The API evaluated the request before starting; histories from before that evaluate here.
        evaluation = start.evaluation or evaluate(
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
        view = open_view(
            start.return_id,
            start.order,
            start.request,
            evaluation,
            start.policy_version,
            start.requested_at,
            workflow.now(),
        )
        try:
            await store(
                act.OPEN_RETURN,
                act.OpenReturn(
                    view=view,
                    revision=self._record.next_revision(),
                    units={ln.line_id: ln.quantity for ln in view.lines},
                    request=start.request,
                ),
            )
        except ActivityError as failure:
            self._refusal = ApplicationError(
                "some units are no longer returnable",
                *getattr(failure.cause, "details", ()),
                type=ErrorType.INELIGIBLE,
                non_retryable=True,
            )
            await workflow.wait_condition(workflow.all_handlers_finished)
            raise self._refusal from None
        self._record.open(view)
        self._compensations.add(CompensationStep.RELEASE_UNITS, self._release_units)
        try:
            await self._forward(evaluation)
        except ReturnStopped as stop:
            await self._compensate()
            await self._record.transition(stop.status, stop.note)
        except asyncio.CancelledError:
            # Temporal cancellation (an operator in the UI): undo, record, and end canceled.
            await asyncio.shield(asyncio.ensure_future(self._stop_on_cancellation()))
            raise
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._record.view

    async def _forward(self, evaluation: Evaluation) -> None:
        if evaluation.outcome == "needs_review":
            await self._await_review()
        if evaluation.type == "cancellation" and await self._intercepted():
            await self._refund(show_pending=True)
            return
        if not evaluation.ships_back and evaluation.type != "cancellation":
            await revoke_virtual_goods(self._record, self._start.order)
            await self._refund(show_pending=True)
            return
        if evaluation.type == "exchange" and not await self._replacements.reserve(
            self._start.request.exchange_items, evaluation, self._start.policy
        ):
            self._resolution = self._start.policy.exchange_out_of_stock
        trigger = self._refund_trigger()
        ship_replacement_on = self._start.policy.exchange_ship_on
        self._stop_if_canceled()
        await self._shipping.book(self._start.request.logistics.pickup_slot, self._ship_by_timeout())
        await self._await_scan(1, self._ship_by_timeout(), on_timeout=self._expire)
        await self._record.transition(Status.IN_TRANSIT)
        if not await self._settle_on("first_scan", trigger, ship_replacement_on):
            return
        await self._await_scan(2, TRANSIT_SLA, on_timeout=self._escalate_transit)
        await self._record.transition(Status.RECEIVED)
        await revoke_virtual_goods(self._record, self._start.order)
        if not await self._settle_on("receipt", trigger, ship_replacement_on):
            return
        await self._await_inspection()
        await self._shipping.intake()
        if self._replacements.held:
            await self._record.transition(Status.COMPLETED, "exchange complete: the replacement is on its way")
        elif trigger == "inspection":
            await self._refund(show_pending=True)
        else:
            await self._record.transition(Status.COMPLETED, "received, inspected and refunded")

    async def _settle_on(self, moment: str, refund_trigger: str, ship_replacement_on: str) -> bool:
        """At first scan or receipt: ship an exchange's replacement, or refund, when the policy says so.

        False when a refund failed and a person must now act.
        """
        if self._replacements.held:
            if moment == ship_replacement_on:
                await self._replacements.ship()
            return True
        if moment == refund_trigger:
            return await self._refund(show_pending=False)
        return True

    async def _intercepted(self) -> bool:
        self._stop_if_canceled()
        return await self._shipping.intercept(self._start.request.logistics.method)

    def _refund_trigger(self) -> str:
        """When money goes back. A deposit waits for inspection; virtual goods for the physical part."""
        trigger = self._start.policy.refund_trigger
        if self._record.view.refund.holds:
            return "inspection"
        if trigger == "first_scan" and virtual_lines(self._start.order, self._record.view.lines):
            return "receipt"
        return trigger

    async def _await_review(self) -> None:
        await self._record.transition(Status.UNDER_REVIEW)
        sla = timedelta(hours=self._start.policy.review_sla_hours)
        if not await self._wait(lambda: self._review is not None, sla):
            await self._record.escalate(f"no review within {self._start.policy.review_sla_hours} hours")
            await self._wait(lambda: self._review is not None, None)
        assert self._review is not None
        if self._review.decision == "reject":
            raise ReturnStopped(Status.REJECTED, self._review.note or "rejected by a reviewer")
        self._record.view.decision.outcome = "approved"
        await self._record.transition(Status.APPROVED, self._review.note)

    async def _await_scan(self, stage: int, within: timedelta, on_timeout: Callable[[], Awaitable[None]]) -> None:
        if not await self._wait(lambda: self._scan_stage >= stage, within):
            await on_timeout()
            await self._wait(lambda: self._scan_stage >= stage, None)

    async def _expire(self) -> None:
        raise ReturnStopped(Status.EXPIRED, f"not shipped within {self._start.policy.ship_by_days} days")

    async def _escalate_transit(self) -> None:
        await self._record.escalate(f"parcel not delivered {TRANSIT_SLA.days} days after pickup")

    async def _await_inspection(self) -> None:
        sla_hours = self._start.policy.inspection_sla_hours
        if not await self._wait(lambda: self._inspection is not None, timedelta(hours=sla_hours)):
            await self._record.escalate(f"not inspected within {sla_hours} hours of receipt")
            await self._wait(lambda: self._inspection is not None, None)

    async def _refund(self, show_pending: bool) -> bool:
        """Pay the return out; True when paid. With ``show_pending`` it ends the saga ``completed``."""
        self._stop_if_canceled()
        view, policy = self._record.view, self._start.policy
        held_back = ""
        if self._inspection is not None:
            settlement = settle_inspection(view.lines, view.refund, policy)
            view.refund, held_back = settlement.refund, settlement.note
        if show_pending:
            await self._record.transition(Status.REFUND_PENDING, held_back)
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
                    dedupe_key=tickets.refund_failed_key(view.id),
                    kind="refund_failed",
                    return_id=view.id,
                    summary=outcome.problem or "refund failed",
                ),
            )
            await self._record.escalate(outcome.problem or "refund failed")
            return False
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

    # ---- compensation -----------------------------------------------------

    async def _compensate(self) -> None:
        """Undo in reverse order; an undo that fails is noted for a person, the rest still run."""
        await self._compensations.run(lambda step: self._record.note_unsaved(f"could not {step.description}"))

    async def _stop_on_cancellation(self) -> None:
        await self._compensate()
        await self._record.transition(Status.CANCELED, "the workflow was cancelled")

    async def _release_units(self) -> None:
        await store(act.RELEASE_UNITS, act.ReturnRef(return_id=self._record.view.id))

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
                await self._record.escalate(f"carrier reported: {self._carrier_exceptions.pop(0)}")
                continue
            return True

    def _stop_if_canceled(self) -> None:
        if self._cancel is not None:
            raise ReturnStopped(Status.CANCELED, self._cancel.note or "canceled on request")

    def _ineligibility(self, evaluation: Evaluation) -> ApplicationError | None:
        errors = refusal_errors(evaluation, self._start.request)
        if not errors:
            return None
        return ApplicationError("the return is not eligible", *errors, type=ErrorType.INELIGIBLE, non_retryable=True)

    def _ship_by_timeout(self) -> timedelta:
        return timedelta(days=self._start.policy.ship_by_days)

    # ---- handlers ---------------------------------------------------------

    # A refused return's workflow fails in the same task that fails this update; the API then reads
    # the workflow's failure for the reason (api/workflow_calls.explain_update_failure).
    @workflow.update(unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)
    async def decision(self) -> ReturnView:
        """Answers once the policy has decided (used with Update-with-Start by ``POST /v1/returns``)."""
        await workflow.wait_condition(lambda: self._record.opened or self._refusal is not None)
        if self._refusal is not None:
            raise self._refusal
        return self._record.view

    @workflow.update
    async def cancel(self, request: CancelRequest) -> ReturnView:
        self._cancel = request
        await workflow.wait_condition(lambda: self._record.stage in FINAL_STATUSES)
        if self._record.stage != Status.CANCELED:
            raise ApplicationError(
                f"the return ended {self._record.stage.value} before it could be canceled",
                type=ErrorType.STATUS_CONFLICT,
            )
        return self._record.view

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        if self._record.stage not in CANCELABLE_STATUSES or self._cancel is not None:
            raise ApplicationError(
                f"a return that is {self._record.stage.value} can no longer be canceled",
                type=ErrorType.STATUS_CONFLICT,
            )

    @workflow.update
    async def review(self, review: ReviewDecision) -> ReturnView:
        self._review = review
        await workflow.wait_condition(lambda: self._record.stage != Status.UNDER_REVIEW)
        return self._record.view

    @review.validator
    def _validate_review(self, review: ReviewDecision) -> None:
        if self._record.stage != Status.UNDER_REVIEW or self._review is not None:
            raise ApplicationError(
                f"a return that is {self._record.stage.value} is not waiting for review",
                type=ErrorType.STATUS_CONFLICT,
            )

    @workflow.update
    async def inspect(self, inspection: Inspection) -> ReturnView:
        apply_inspection(self._record.view.lines, inspection)
        self._inspection = inspection
        await self._record.transition(Status.INSPECTED, "; ".join(ln.note for ln in inspection.lines if ln.note))
        return self._record.view

    @inspect.validator
    def _validate_inspection(self, inspection: Inspection) -> None:
        if self._record.stage != Status.RECEIVED or self._inspection is not None:
            raise ApplicationError(
                f"a return that is {self._record.stage.value} cannot be inspected", type=ErrorType.STATUS_CONFLICT
            )
        errors = inspection_errors(self._record.view.lines, inspection)
        if errors:
            raise ApplicationError(
                "inspect every line of the return exactly once", *errors, type=ErrorType.INVALID_INPUT
            )

    @workflow.signal
    def carrier_scan(self, scan: CarrierScan) -> None:
        """Scans may repeat or arrive out of order; only progress counts."""
        if scan.event == "exception":
            self._carrier_exceptions.append(f"exception at {scan.occurred_at.isoformat()}")
            return
        self._scan_stage = max(self._scan_stage, scan_progress(scan.event))

    @workflow.query
    def view(self) -> ReturnView | None:
        return self._record.view_or_none
