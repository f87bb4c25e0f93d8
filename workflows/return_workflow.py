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
from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import tickets
    from domain.attention import (
        AttentionAction,
        AttentionReason,
        Resolution,
        actions_for,
        missing_reference,
        resolution_problem,
    )
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
    from messages.returns import VIEW_QUERY, WORKFLOW_NAME, CarrierScan, StartReturn
    from workflows.attention import ATTENTION_PATCH, Attentions
    from workflows.calls import store
    from workflows.entitlements import revoke_virtual_goods
    from workflows.payout import PayOutResult, pay_out, pay_remainder_as_store_credit, record_outside_refund
    from workflows.replacements import Replacements
    from workflows.return_record import ReturnRecord
    from workflows.saga import Compensations
    from workflows.shipping import Shipping


# A refused request ends its workflow completed instead of failed (Temporal UI's failures are real ones).
REFUSAL_PATCH = "refusal-completes"
REFUSAL_ANSWER_GRACE = timedelta(seconds=1)


class ReturnStopped(Exception):
    """Ends the forward path early (cancel, expiry, rejection); compensations run.

    ``by_person``: a person's resolution stopped it; its update answers once the return has ended.
    """

    def __init__(self, status: Status, note: str, by_person: bool = False):
        super().__init__(note)
        self.status = status
        self.note = note
        self.by_person = by_person


class ParcelLost(Exception):
    """A person closed the return as lost in transit: what was owed is paid and the return completes."""


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
        self._attentions = Attentions(self._record)
        self._refunded = False
        # A refund that failed at the first scan or at receipt: the parcel goes on, a person decides.
        self._refund_outstanding = False

    # ---- the saga ---------------------------------------------------------

    @workflow.run
    async def run(self, start: StartReturn) -> ReturnView | None:
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
            await self._refuse(problem)
            return None
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
        except (ActivityError, ApplicationError) as failure:
            # Another return claimed the units between the API's evaluation and here. (A local activity's
            # failure reaches the workflow as its ApplicationError, not wrapped in an ActivityError.)
            cause = failure.cause if isinstance(failure, ActivityError) else failure
            await self._refuse(
                ApplicationError(
                    "some units are no longer returnable",
                    *getattr(cause, "details", ()),
                    type=ErrorType.INELIGIBLE,
                    non_retryable=True,
                )
            )
            return None
        self._record.open(view)
        self._compensations.add(CompensationStep.RELEASE_UNITS, self._release_units)
        try:
            await self._forward(evaluation)
        except ReturnStopped as stop:
            await self._compensate(ask_person=True)
            await self._attentions.close_all(f"the return ended {stop.status.value}")
            await self._record.transition(stop.status, stop.note)
            if stop.by_person:
                self._attentions.acknowledge()
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
        if not await self._wait(lambda: self._scan_stage >= 1, self._ship_by_timeout()):
            raise ReturnStopped(Status.EXPIRED, f"not shipped within {self._start.policy.ship_by_days} days")
        await self._record.transition(Status.IN_TRANSIT)
        if not await self._settle_on("first_scan", trigger, ship_replacement_on):
            return
        try:
            await self._await_delivery()
        except ParcelLost:
            await self._close_as_lost()
            return
        await self._record.transition(Status.RECEIVED)
        await revoke_virtual_goods(self._record, self._start.order)
        if not await self._settle_on("receipt", trigger, ship_replacement_on):
            return
        sla_hours = self._start.policy.inspection_sla_hours
        await self._await_person(
            lambda: self._inspection is not None,
            timedelta(hours=sla_hours),
            "inspection_overdue",
            f"not inspected within {sla_hours} hours of receipt",
        )
        await self._shipping.intake()
        if self._replacements.held:
            await self._record.transition(Status.COMPLETED, "exchange complete: the replacement is on its way")
        elif trigger == "inspection":
            await self._refund(show_pending=True)
        elif self._refund_outstanding:
            await self._settle_outstanding_refund()
        else:
            await self._record.transition(Status.COMPLETED, "received, inspected and refunded")

    async def _settle_on(self, moment: str, refund_trigger: str, ship_replacement_on: str) -> bool:
        """At first scan or receipt: ship an exchange's replacement, or refund, when the policy says so.

        False when a refund failed and the return stops here (histories from before attentions).
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
        hours = self._start.policy.review_sla_hours
        await self._await_person(
            lambda: self._review is not None,
            timedelta(hours=hours),
            "review_overdue",
            f"no review within {hours} hours",
        )
        assert self._review is not None
        if self._review.decision == "reject":
            raise ReturnStopped(Status.REJECTED, self._review.note or "rejected by a reviewer")
        self._record.view.decision.outcome = "approved"
        await self._record.transition(Status.APPROVED, self._review.note)

    async def _await_delivery(self) -> None:
        note = f"parcel not delivered {TRANSIT_SLA.days} days after pickup"
        await self._await_person(lambda: self._scan_stage >= 2, TRANSIT_SLA, "transit_overdue", note)

    async def _await_person(self, done: Callable[[], bool], sla: timedelta, reason: AttentionReason, note: str) -> None:
        """Wait for ``done`` (a review, an inspection, the parcel) with its SLA; past it, a person decides:
        wait longer, or whatever else the reason offers, until ``done`` happens."""
        while not await self._wait(done, sla):
            if not workflow.patched(ATTENTION_PATCH):
                await self._record.escalate(note)
                await self._wait(done, None)
                return
            resolution = await self._ask(reason, note, actions_for(reason, refunded=self._refunded), done)
            if resolution is None:
                return
            await self._carry_out(resolution)

    async def _ask(
        self, reason: AttentionReason, note: str, actions: list[AttentionAction], done: Callable[[], bool]
    ) -> Resolution | None:
        """Show the attention and wait for a person's resolution (None: ``done`` happened by itself)."""
        await self._attentions.raise_(reason, note, actions)
        resolution = await self._attentions.wait(lambda: done() or self._cancel is not None)
        self._stop_if_canceled()
        return resolution

    async def _carry_out(self, resolution: Resolution) -> None:
        """A person's way forward for a wait that ran late (refunds have theirs: ``_carry_out_refund``)."""
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
        actions = actions_for("carrier_exception", refunded=self._refunded, in_transit=in_transit)
        resolution = await self._ask("carrier_exception", note, actions, done)
        if resolution is None:
            return True
        await self._carry_out(resolution)
        return False

    async def _close_as_lost(self) -> None:
        """The parcel will not arrive: the customer gets what the return owes them, and it completes."""
        await self._attentions.clear("closed as lost in transit")
        self._attentions.acknowledge()
        if self._replacements.held:
            if not self._replacements.shipped:
                await self._replacements.ship()
            await self._record.transition(Status.COMPLETED, "closed as lost in transit; the replacement was sent")
        elif self._refund_outstanding:
            await self._settle_outstanding_refund()
        elif not self._refunded:
            await self._refund(show_pending=True)
        else:
            await self._record.transition(Status.COMPLETED, "closed as lost in transit; already refunded")

    # ---- money ------------------------------------------------------------

    async def _refund(self, show_pending: bool) -> bool:
        """Pay the return out. With ``show_pending`` it ends the saga ``completed`` (after a person's
        help if the payment fails); at the first scan or receipt a failed payment waits for a person
        while the parcel goes on. False only for histories from before attentions, where it stopped."""
        self._stop_if_canceled()
        view, policy = self._record.view, self._start.policy
        held_back = ""
        if self._inspection is not None:
            settlement = settle_inspection(view.lines, view.refund, policy)
            view.refund, held_back = settlement.refund, settlement.note
        if show_pending:
            await self._record.transition(Status.REFUND_PENDING, held_back)
        outcome = await self._pay()
        if outcome.paid:
            self._refunded = True
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
        if not workflow.patched(ATTENTION_PATCH):
            await store(
                act.OPEN_TICKET,
                act.OpenTicket(
                    dedupe_key=tickets.refund_failed_key(view.id),
                    kind="refund_failed",
                    return_id=view.id,
                    summary=problem,
                ),
            )
            await self._record.escalate(problem)
            return False
        await self._attentions.raise_("refund_failed", problem, actions_for("refund_failed"))
        self._refund_outstanding = True
        if show_pending:
            await self._settle_outstanding_refund()
        return True

    async def _pay(self) -> PayOutResult:
        return await pay_out(
            self._record.view,
            self._start.order.payments,
            as_store_credit=self._resolution == "store_credit",
            fall_back_to_store_credit=self._start.policy.refund_failure_fallback == "store_credit",
        )

    async def _settle_outstanding_refund(self) -> None:
        """The return cannot complete before a person has found a way to pay what a failed refund owes."""
        while self._refund_outstanding:
            await self._carry_out_refund(await self._attentions.decision())
        await self._record.transition(Status.COMPLETED, "refunded after a person acted")

    async def _carry_out_refund(self, resolution: Resolution) -> None:
        view = self._record.view
        if resolution.action == "retry_refund":
            outcome = await self._pay()
        elif resolution.action == "refund_as_store_credit":
            outcome = await pay_remainder_as_store_credit(view)
        else:  # mark_refunded
            outcome = await record_outside_refund(view, resolution.reference)
        if outcome.paid:
            self._refunded, self._refund_outstanding = True, False
            view.refund.status = "succeeded"
            await self._attentions.clear("; ".join([resolution.action, *outcome.notes]))
        else:
            await self._attentions.renote(outcome.problem or "refund failed")
        self._attentions.acknowledge()

    # ---- compensation -----------------------------------------------------

    async def _compensate(self, ask_person: bool) -> None:
        """Undo in reverse order. An undo that fails is noted; then a person is asked to retry it or to
        undo it by hand (when the workflow itself was cancelled, a ticket says what is left)."""
        await self._compensations.run(lambda step: self._record.note_unsaved(f"could not {step.description}"))
        if not self._compensations.failed or not workflow.patched(ATTENTION_PATCH):
            return
        view = self._record.view
        note = "could not " + ", ".join(step.description for step in self._compensations.failed)
        if not ask_person:
            ticket = act.OpenTicket(
                dedupe_key=tickets.compensation_failed_key(view.id),
                kind="compensation_failed",
                return_id=view.id,
                summary=note,
            )
            await store(act.OPEN_TICKET, ticket)
            return
        await self._attentions.raise_("compensation_failed", note, actions_for("compensation_failed"))
        while True:
            resolution = await self._attentions.decision()
            if resolution.action == "mark_compensated":
                self._compensations.forget()
            else:
                await self._compensations.run(lambda step: self._record.note_unsaved(f"could not {step.description}"))
            if not self._compensations.failed:
                await self._attentions.clear(resolution.action + (f": {resolution.note}" if resolution.note else ""))
                self._attentions.acknowledge()
                return
            await self._attentions.renote("could not " + ", ".join(s.description for s in self._compensations.failed))
            self._attentions.acknowledge()

    async def _stop_on_cancellation(self) -> None:
        await self._compensate(ask_person=False)
        await self._record.transition(Status.CANCELED, "the workflow was cancelled")

    async def _release_units(self) -> None:
        await store(act.RELEASE_UNITS, act.ReturnRef(return_id=self._record.view.id))

    # ---- waiting ----------------------------------------------------------

    async def _wait(self, done: Callable[[], bool], within: timedelta | None) -> bool:
        """Wait for ``done`` with a timer; True if it happened, False on timeout.

        A cancel request stops the saga. A carrier exception asks a person what it means (a
        decision to wait longer restarts the timer). A person's action on a refund that failed
        on the way is carried out, and the wait goes on.
        """
        deadline = workflow.now() + within if within is not None else None
        while True:
            remaining = (deadline - workflow.now()) if deadline is not None else None
            try:
                await workflow.wait_condition(
                    lambda: (
                        done()
                        or self._cancel is not None
                        or bool(self._carrier_exceptions)
                        or self._attentions.has_queued
                    ),
                    timeout=remaining,
                )
            except TimeoutError:
                return False
            self._stop_if_canceled()
            if self._attentions.has_queued:
                await self._carry_out_refund(self._attentions.take())
                continue
            if self._carrier_exceptions:
                note = f"carrier reported: {self._carrier_exceptions.pop(0)}"
                if not workflow.patched(ATTENTION_PATCH):
                    await self._record.escalate(note)
                elif await self._carrier_exception(note, done):
                    return True
                elif within is not None:
                    deadline = workflow.now() + within
                continue
            return True

    def _stop_if_canceled(self) -> None:
        if self._cancel is not None:
            raise ReturnStopped(Status.CANCELED, self._cancel.note or "canceled on request")

    async def _refuse(self, refusal: ApplicationError) -> None:
        """A refused request: the decision update answers with the refusal (the API's 422) and the workflow
        ends completed, without a return (docs/adr/0004-refusals-are-results.md). Before that marker
        it failed, and its histories replay so."""
        self._refusal = refusal
        await workflow.wait_condition(workflow.all_handlers_finished)
        if not workflow.patched(REFUSAL_PATCH):
            raise refusal
        # The update's answer leaves in a task of its own: closing in the same task would hand the caller
        # "AcceptedUpdateCompletedWorkflow" instead of the refusal.
        await workflow.sleep(REFUSAL_ANSWER_GRACE)

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

    @workflow.update
    async def resolve(self, resolution: Resolution) -> ReturnView:
        """A person's way forward for the attention the return shows; answers once it has been carried out."""
        number = self._attentions.queue(resolution)
        await workflow.wait_condition(lambda: self._attentions.carried_out >= number)
        return self._record.view

    @resolve.validator
    def _validate_resolve(self, resolution: Resolution) -> None:
        problem = resolution_problem(self._record.view.attention if self._record.opened else None, resolution)
        if problem is None and self._attentions.has_queued:
            problem = "another action on this return is being carried out; try again in a moment"
        if problem is not None:
            raise ApplicationError(problem, type=ErrorType.STATUS_CONFLICT)
        if missing_reference(resolution):
            raise ApplicationError(
                f"{resolution.action} needs the reference of what was done outside returnflow",
                {"field": "reference", "code": "reference_required", "message": "give the payment's reference"},
                type=ErrorType.INVALID_INPUT,
            )

    @workflow.signal
    def carrier_scan(self, scan: CarrierScan) -> None:
        """Scans may repeat or arrive out of order; only progress counts."""
        if scan.event == "exception":
            self._carrier_exceptions.append(f"exception at {scan.occurred_at.isoformat()}")
            return
        self._scan_stage = max(self._scan_stage, scan_progress(scan.event))

    @workflow.query(name=VIEW_QUERY)
    def view(self) -> ReturnView | None:
        return self._record.view_or_none
