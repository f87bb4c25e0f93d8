"""ReturnWorkflow: one return, from request to refund, as a saga.

decide → (review) → book the carrier → wait for the parcel → receive → inspect →
warehouse intake → refund → completed.

Every forward step with an effect outside registers its undo (``saga.py``);
cancel, expiry, rejection or a workflow cancellation runs them in reverse
(``undoing.py``). Every wait has a timer (``waiting.py``); past it, or when a
refund or an undo fails, the return shows an attention with its way forward and
waits for a person (``attention.py``, ``refunding.py``). Reviewers, warehouse
staff and customers act through Updates (validated before they enter history),
carrier scans arrive as Signals, and ``view`` is the Query of the current state.
The rules are in ``domain/``; this module only sequences the steps.
"""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.acts import may_cancel, may_inspect, may_review
    from domain.attention import (
        Resolution,
        missing_reference,
        pickup_slot_error,
        resolution_problem,
    )
    from domain.compensations import CompensationStep
    from domain.evaluation import Evaluation, evaluate, refusal_errors
    from domain.inspection import apply_inspection, inspection_errors
    from domain.opening import books_first
    from domain.returns import (
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
    from domain.urging import Urge
    from messages import return_activities as act
    from messages.errors import ErrorType
    from messages.returns import VIEW_QUERY, WORKFLOW_NAME, CarrierScan, StartReturn, opened_view, requested_by
    from workflows import shapes
    from workflows.attention import Attentions
    from workflows.booking_failures import Bookings
    from workflows.calls import store
    from workflows.entitlements import revoke_virtual_goods
    from workflows.pickups import LEAST_WAIT, PICKUP_WATCH_PATCH, MissedPickups
    from workflows.refunding import Refunding
    from workflows.replacements import Replacements
    from workflows.return_record import ReturnRecord, UnitsTaken
    from workflows.saga import Compensations
    from workflows.shipping import Shipping
    from workflows.sla_compensation import SlaCompensator
    from workflows.stops import ParcelLost, ReturnStopped
    from workflows.undoing import undo
    from workflows.urging import Urging
    from workflows.waiting import Inbox, Waiting


# A refused request ends its workflow completed instead of failed (Temporal UI's failures are real ones).
REFUSAL_PATCH = "refusal-completes"
REFUSAL_ANSWER_GRACE = timedelta(seconds=1)
# A refund that waits for the parcel's arrival (refund_trigger receipt): the customer's urge brings the transit
# deadline closer too, as it does a review's or an inspection's.
URGE_TRANSIT_PATCH = "urge-hurries-transit"
# The summary of the timer on the parcel's first scan (Temporal UI: "ship-by deadline 14 d").
SHIP_BY_TIMER = "ship-by deadline"


@workflow.defn(name=WORKFLOW_NAME)
class ReturnWorkflow:
    @workflow.init
    def __init__(self, start: StartReturn) -> None:
        self._start = start
        # Read by workflows/shapes.py: which patches this run has without asking.
        self.shape = start.shape
        # Read by workflows/calls.py: while undoing, partner calls wait as activities (see ``_undo``).
        self.undoing = False
        self._record = ReturnRecord()
        self._refusal: ApplicationError | None = None
        self._compensations = Compensations()
        self._inbox = Inbox()
        self._replacements = Replacements(self._record, self._compensations)
        self._shipping = Shipping(self._record, self._compensations)
        self._attentions = Attentions(self._record, SlaCompensator(self._record, start.policy))
        self._refunding = Refunding(self._record, self._attentions, start.order, start.policy)
        self._refunding.resolution = start.request.resolution
        self._waiting = Waiting(self._inbox, self._record, self._attentions, self._refunding, self._compensations)
        self._urging = Urging(self._record, self._waiting, start.policy)
        self._bookings = Bookings(self._record, self._waiting, self._attentions, self._shipping)
        self._pickups = MissedPickups(self._inbox, self._waiting, self._attentions, self._shipping, self._bookings)

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
        view = opened_view(start, evaluation, workflow.now())
        units = {ln.line_id: ln.quantity for ln in view.lines}
        if shapes.at_least(1) and books_first(evaluation):
            self._record.open_at_first_write(view, units, start.request, requested_by(start, evaluation))
        elif not await self._open(view, units, requested_by(start, evaluation)):
            return None
        self._compensations.add(CompensationStep.RELEASE_UNITS, self._release_units)
        try:
            await self._forward(evaluation)
        except UnitsTaken as taken:
            await self._undo(ask_person=False)
            await self._refuse(units_no_longer_returnable(taken.refusal))
            return None
        except ReturnStopped as stop:
            await self._undo(ask_person=True)
            await self._attentions.close_all(f"the return ended {stop.status.value}")
            await self._record.transition(stop.status, stop.note)
            if stop.by_person:
                self._attentions.acknowledge()
        except asyncio.CancelledError:
            # Temporal cancellation (an operator in the UI): undo, record, and end canceled.
            await asyncio.shield(asyncio.ensure_future(self._stop_on_cancellation()))
            raise
        await self._record.flush()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._record.view

    async def _open(self, view: ReturnView, units: dict[str, int], asked: act.RequestedBy | None) -> bool:
        """Claim the units and write the first view; False (the request refused) if they are gone."""
        try:
            await self._record.open(view, units, self._start.request, asked)
        except UnitsTaken as taken:
            await self._refuse(units_no_longer_returnable(taken.refusal))
            return False
        return True

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
            self._refunding.resolution = self._start.policy.exchange_out_of_stock
        elif self._replacements.held and self._start.policy.instant_exchange:
            await self._replacements.ship_instantly(self._start.order)
        trigger = self._refund_trigger()
        ship_replacement_on = self._start.policy.exchange_ship_on
        self._waiting.stop_if_canceled()
        await self._bookings.book(
            self._record.view.logistics.method, self._start.request.logistics.pickup_slot, self._ship_by_timeout()
        )
        if not await self._await_first_scan():
            raise ReturnStopped(Status.EXPIRED, f"not shipped within {self._start.policy.ship_by_days} days")
        await self._record.transition(Status.IN_TRANSIT)
        if not await self._settle_on("first_scan", trigger, ship_replacement_on):
            return
        try:
            await self._await_delivery(refund_waits=trigger == "receipt" and not self._replacements.held)
        except ParcelLost:
            await self._close_as_lost()
            return
        await self._record.transition(Status.RECEIVED)
        await revoke_virtual_goods(self._record, self._start.order)
        if not await self._settle_on("receipt", trigger, ship_replacement_on):
            return
        sla_hours = self._start.policy.inspection_sla_hours
        await self._waiting.for_person(
            lambda: self._inbox.inspection is not None,
            timedelta(hours=sla_hours),
            "inspection deadline",
            "inspection_overdue",
            f"not inspected within {sla_hours} hours of receipt",
            hurriable=True,
        )
        await self._shipping.intake()
        await self._shipping.send_back()
        if self._replacements.held:
            await self._replacements.complete(self._refunding)
        elif trigger == "inspection":
            await self._refund(show_pending=True)
        elif self._refunding.outstanding:
            await self._refunding.settle_outstanding()
        else:
            await self._record.transition(Status.COMPLETED, "received, inspected and refunded")

    async def _settle_on(self, moment: str, refund_trigger: str, ship_replacement_on: str) -> bool:
        """At first scan or receipt: ship an exchange's replacement, or refund, when the policy says so.

        False when a refund failed and the return stops here (histories from before attentions).
        """
        if self._replacements.held:
            if moment == ship_replacement_on and not self._replacements.shipped:
                await self._replacements.ship()
            if moment == "first_scan":
                await self._replacements.release_hold()
            return True
        if moment == refund_trigger:
            return await self._refund(show_pending=False)
        return True

    async def _await_first_scan(self) -> bool:
        """The parcel's first scan, within the ship-by deadline; a booked pickup slot that passes without
        one is an attention of its own first (``pickups.py``). False when the deadline passed."""
        # The slot booked: the requested one, unless a person booked another after a failed booking.
        slot = self._record.view.logistics.pickup_slot or self._start.request.logistics.pickup_slot
        if slot is None or self._record.view.logistics.method != "pickup" or not shapes.patched(PICKUP_WATCH_PATCH):
            return await self._waiting.wait(self._shipped, self._ship_by_timeout(), SHIP_BY_TIMER)
        await self._pickups.watch(slot, self._ship_by_timeout())
        if self._shipped():
            return True
        ship_by = self._record.view.logistics.ship_by
        assert ship_by is not None, "a booked shipment has its ship-by deadline"
        return await self._waiting.wait(self._shipped, max(ship_by - workflow.now(), LEAST_WAIT), SHIP_BY_TIMER)

    def _shipped(self) -> bool:
        return self._inbox.scan_stage >= 1

    async def _intercepted(self) -> bool:
        self._waiting.stop_if_canceled()
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
        await self._waiting.for_person(
            lambda: self._inbox.review is not None,
            timedelta(hours=hours),
            "review deadline",
            "review_overdue",
            f"no review within {hours} hours",
            hurriable=True,
        )
        review = self._inbox.review
        assert review is not None
        if review.decision == "reject":
            raise ReturnStopped(Status.REJECTED, review.note or "rejected by a reviewer")
        self._record.view.decision.outcome = "approved"
        await self._record.transition(Status.APPROVED, review.note)

    async def _await_delivery(self, refund_waits: bool) -> None:
        """The parcel's arrival within the transit SLA; when the refund waits for it, an urge hurries it."""
        note = f"parcel not delivered {TRANSIT_SLA.days} days after pickup"
        hurriable = refund_waits and shapes.patched(URGE_TRANSIT_PATCH)
        await self._waiting.for_person(
            lambda: self._inbox.scan_stage >= 2,
            TRANSIT_SLA,
            "delivery deadline",
            "transit_overdue",
            note,
            hurriable=hurriable,
        )

    async def _close_as_lost(self) -> None:
        """The parcel will not arrive: the customer gets what the return owes them, and it completes."""
        await self._attentions.clear("closed as lost in transit")
        self._attentions.acknowledge()
        if self._replacements.held:
            if not self._replacements.shipped:
                await self._replacements.ship()
            await self._replacements.complete(self._refunding, "closed as lost in transit; the replacement was sent")
        elif self._refunding.outstanding:
            await self._refunding.settle_outstanding()
        elif not self._refunding.refunded:
            await self._refund(show_pending=True)
        else:
            await self._record.transition(Status.COMPLETED, "closed as lost in transit; already refunded")

    async def _refund(self, show_pending: bool) -> bool:
        self._waiting.stop_if_canceled()
        return await self._refunding.refund(show_pending, inspected=self._inbox.inspection is not None)

    # ---- compensation -----------------------------------------------------

    async def _undo(self, ask_person: bool) -> None:
        """Run the compensations, their partner calls as activities of their own.

        A cancel's update would otherwise be accepted, undone and the workflow completed in one workflow
        task; a carrier scan sent at the same moment then makes the server refuse that task's completion
        (UnhandledCommand), which fails the task and the caller's update with it. An undo is rare: its
        events cost nothing worth that."""
        self.undoing = True
        try:
            await undo(self._compensations, self._record, self._attentions, ask_person=ask_person)
        finally:
            self.undoing = False

    async def _stop_on_cancellation(self) -> None:
        await self._undo(ask_person=False)
        await self._record.transition(Status.CANCELED, "the workflow was cancelled")
        await self._record.flush()

    async def _release_units(self) -> None:
        await store(act.RELEASE_UNITS, act.ReturnRef(return_id=self._record.view.id))

    async def _refuse(self, refusal: ApplicationError) -> None:
        """A refused request: the decision update answers with the refusal (the API's 422) and the workflow
        ends completed, without a return (docs/adr/0004-refusals-are-results.md). Before that marker
        it failed, and its histories replay so."""
        self._refusal = refusal
        await workflow.wait_condition(workflow.all_handlers_finished)
        if not shapes.patched(REFUSAL_PATCH):
            raise refusal
        # The update's answer leaves in a task of its own: closing in the same task would hand the caller
        # "AcceptedUpdateCompletedWorkflow" instead of the refusal.
        await workflow.sleep(REFUSAL_ANSWER_GRACE, summary="let the refusal's answer leave first")

    def _ineligibility(self, evaluation: Evaluation) -> ApplicationError | None:
        errors = refusal_errors(evaluation, self._start.request)
        if not errors:
            return None
        return ApplicationError("the return is not eligible", *errors, type=ErrorType.INELIGIBLE, non_retryable=True)

    def _ship_by_timeout(self) -> timedelta:
        return timedelta(days=self._start.policy.ship_by_days)

    async def flush_pending_writes(self) -> None:
        """What this task changed, written now: before a partner call waits as an activity (workflows/calls.py)."""
        if self._record.opened:
            await self._record.flush()

    # ---- handlers ---------------------------------------------------------

    # A refused return's workflow fails in the same task that fails this update; the API then reads
    # the workflow's failure for the reason (api/workflow_calls.explain_update_failure).
    @workflow.update(unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)
    async def decision(self) -> ReturnView:
        """Answers once the policy has decided (used with Update-with-Start by ``POST /v1/returns``)."""
        await workflow.wait_condition(lambda: self._record.written or self._refusal is not None)
        if self._refusal is not None:
            raise self._refusal
        return self._record.view

    @workflow.update
    async def cancel(self, request: CancelRequest) -> ReturnView:
        self._inbox.cancel = request
        await workflow.wait_condition(lambda: self._record.stage in FINAL_STATUSES)
        if self._record.stage != Status.CANCELED:
            raise ApplicationError(
                f"the return ended {self._record.stage.value} before it could be canceled",
                type=ErrorType.STATUS_CONFLICT,
            )
        return self._record.view

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        if not may_cancel(self._record.stage) or self._inbox.cancel is not None:
            raise ApplicationError(
                f"a return that is {self._record.stage.value} can no longer be canceled",
                type=ErrorType.STATUS_CONFLICT,
            )

    @workflow.update
    async def review(self, review: ReviewDecision) -> ReturnView:
        self._inbox.review = review
        await workflow.wait_condition(lambda: self._record.stage != Status.UNDER_REVIEW)
        return self._record.view

    @review.validator
    def _validate_review(self, review: ReviewDecision) -> None:
        if not may_review(self._record.stage) or self._inbox.review is not None:
            raise ApplicationError(
                f"a return that is {self._record.stage.value} is not waiting for review",
                type=ErrorType.STATUS_CONFLICT,
            )

    @workflow.update
    async def inspect(self, inspection: Inspection) -> ReturnView:
        apply_inspection(self._record.view.lines, inspection)
        self._inbox.inspection = inspection
        await self._record.transition(Status.INSPECTED, "; ".join(ln.note for ln in inspection.lines if ln.note))
        return self._record.view

    @inspect.validator
    def _validate_inspection(self, inspection: Inspection) -> None:
        if not may_inspect(self._record.stage) or self._inbox.inspection is not None:
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
        slot_error = pickup_slot_error(resolution, workflow.now())
        if slot_error is not None:
            raise ApplicationError(
                f"{resolution.action} needs a pickup slot ahead: {slot_error['message']}",
                slot_error,
                type=ErrorType.INVALID_INPUT,
            )
        if missing_reference(resolution):
            raise ApplicationError(
                f"{resolution.action} needs the reference of what was done outside returnflow",
                {"field": "reference", "code": "reference_required", "message": "give the payment's reference"},
                type=ErrorType.INVALID_INPUT,
            )

    @workflow.update
    async def urge(self, urge: Urge) -> ReturnView:
        """The customer asks us to hurry (workflows/urging.py)."""
        return await self._urging.urge(urge)

    @urge.validator
    def _validate_urge(self, urge: Urge) -> None:
        refusal = self._urging.refusal()
        if refusal is not None:
            raise refusal

    @workflow.signal
    def carrier_scan(self, scan: CarrierScan) -> None:
        """Scans may repeat or arrive out of order; only progress counts."""
        if scan.event == "exception":
            self._inbox.carrier_exceptions.append(f"exception at {scan.occurred_at.isoformat()}")
            return
        self._inbox.scan_stage = max(self._inbox.scan_stage, scan_progress(scan.event))

    @workflow.query(name=VIEW_QUERY)
    def view(self) -> ReturnView | None:
        return self._record.view_or_none


def units_no_longer_returnable(failure: ActivityError | ApplicationError) -> ApplicationError:
    """Another return claimed the units between the API's evaluation and the claim. (A local activity's
    failure reaches the workflow as its ApplicationError, not wrapped in an ActivityError.)"""
    cause = failure.cause if isinstance(failure, ActivityError) else failure
    return ApplicationError(
        "some units are no longer returnable",
        *getattr(cause, "details", ()),
        type=ErrorType.INELIGIBLE,
        non_retryable=True,
    )
