"""The return as its workflow keeps it: every change is timestamped, shown in Temporal UI and saved.

A return opens with its first write, which also claims its units (``open_return``). A return of
shape 1 on that only books its parcel before it first waits opens with the booked view instead
(``open_at_first_write``): one write fewer per return, and the request's answer carries the label.

The read model is written by the workflow (through a local activity), with a
revision so that a late write never overwrites a newer one
(docs/adr/0001-read-model-written-by-the-workflow.md). Runs of shape 1 on
(``workflows/shapes.py``) write what one workflow task changed once, when the
workflow is about to wait (``flush``): one local activity and one search-attribute
upsert however many steps the task took, every status it passed still announced.
Older runs write at every change.
"""

from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.ledger import MoneyMovement
    from domain.returns import FINAL_STATUSES, ReturnRequest, ReturnView, Status, TimelineEntry
    from messages import return_activities as act
    from messages import search_attributes
    from messages.search_attributes import RETURN_STATUS, RETURN_TYPE
    from workflows import shapes
    from workflows.calls import store

# The priority became a search attribute too; returns shown before that upsert their status alone. (The other
# attributes came later without a marker: the server replays an upsert by its place, not by what it holds.)
PRIORITY_ATTRIBUTE_PATCH = "priority-search-attribute"


class UnitsTaken(Exception):
    """The first write could not claim the return's units: another return took them since the API's check."""

    def __init__(self, refusal: ActivityError | ApplicationError) -> None:
        super().__init__(str(refusal))
        self.refusal = refusal


class ReturnRecord:
    def __init__(self) -> None:
        self._view: ReturnView | None = None
        # The units to claim, the request and who asked, until the first write (``open_at_first_write``).
        self._opening: tuple[dict[str, int], ReturnRequest, act.RequestedBy | None] | None = None
        self._revision = 0
        # The saga step we are in; the shown status can differ (needs_attention).
        self.stage = Status.REQUESTED
        # When the customer last urged the return: it stays high priority from then on.
        self.urged_at: datetime | None = None
        # Shape 1 on: what is changed and not yet written (flush); the statuses shown since the last write.
        self._unsaved = False
        self._unshown = False
        self._entered: list[Status] = []
        self._money: list[MoneyMovement] = []

    @property
    def opened(self) -> bool:
        """The workflow has the return's view (it may not be written yet: ``written``)."""
        return self._view is not None

    @property
    def written(self) -> bool:
        """The return is in the read model and holds its units."""
        return self._view is not None and self._opening is None

    @property
    def view(self) -> ReturnView:
        assert self._view is not None, "the return has not been opened"
        return self._view

    @property
    def view_or_none(self) -> ReturnView | None:
        return self._view

    def next_revision(self) -> int:
        self._revision += 1
        return self._revision

    async def open(
        self, view: ReturnView, units: dict[str, int], request: ReturnRequest, requested_by: act.RequestedBy | None
    ) -> None:
        """Claim the units and write the first view now (``UnitsTaken`` if they are gone)."""
        await self._write_opening(view, units, request, requested_by, passed=[])
        self._adopt(view)

    def open_at_first_write(
        self, view: ReturnView, units: dict[str, int], request: ReturnRequest, requested_by: act.RequestedBy | None
    ) -> None:
        """The first view, written and its units claimed by the first save (``UnitsTaken`` if they are gone)."""
        self._adopt(view)
        self._opening = (units, request, requested_by)
        self._entered.append(view.status)  # announced by that write as a status the return passed
        self._unsaved = True

    def _adopt(self, view: ReturnView) -> None:
        self._view = view
        self.stage = view.status
        self.show(view.status, "")

    async def _write_opening(
        self,
        view: ReturnView,
        units: dict[str, int],
        request: ReturnRequest,
        requested_by: act.RequestedBy | None,
        passed: list[Status],
    ) -> None:
        opening = act.OpenReturn(
            view=view,
            revision=self.next_revision(),
            passed=passed,
            units=units,
            request=request,
            requested_by=requested_by,
        )
        try:
            await store(act.OPEN_RETURN, opening)
        except (ActivityError, ApplicationError) as refusal:
            raise UnitsTaken(refusal) from None

    async def transition(self, status: Status, note: str = "") -> None:
        """Move the saga to ``status``. While an attention is open the return keeps showing
        ``needs_attention`` (the timeline still records the step); an end status always shows."""
        view = self.view
        if status != Status.NEEDS_ATTENTION:  # escalation shows on the status; the saga step stays
            self.stage = status
        waiting_for_person = view.attention is not None and status not in FINAL_STATUSES
        shown = Status.NEEDS_ATTENTION if waiting_for_person else status
        if shown != view.status:
            self._entered.append(shown)
        view.status, view.updated_at = shown, workflow.now()
        view.timeline.append(TimelineEntry(status=status, at=view.updated_at, note=note))
        self.show(shown, note)
        await self._changed()

    async def note(self, note: str) -> None:
        """A timeline entry that does not change the status."""
        view = self.view
        view.updated_at = workflow.now()
        view.timeline.append(TimelineEntry(status=view.status, at=view.updated_at, note=note))
        await self._changed()

    def note_unsaved(self, note: str) -> None:
        """A timeline entry the next save writes (used while undoing, where a save could fail too)."""
        self.view.timeline.append(TimelineEntry(status=self.view.status, at=workflow.now(), note=note))

    def record_money(self, movements: list[MoneyMovement]) -> None:
        """Money moved: into the ledger with the next save, in the view's transaction (shape 1 on)."""
        self._money.extend(movements)
        self._unsaved = True

    async def escalate(self, note: str) -> None:
        self.view.priority = "high"
        await self.transition(Status.NEEDS_ATTENTION, note)

    async def save(self) -> None:
        """Write the view now, with the statuses it passed since the last write (each is announced)."""
        # The last status entered is the view's own; the ones before it were shown and left since the last write.
        passed, self._entered, self._unsaved = self._entered[:-1], [], False
        if self._opening is not None:
            units, request, requested_by = self._opening
            await self._write_opening(self.view, units, request, requested_by, passed)
            self._opening = None
            return
        money, self._money = self._money, []
        snapshot = act.SnapshotOfReturn(view=self.view, revision=self.next_revision(), passed=passed, money=money)
        await store(act.SAVE_RETURN, snapshot)

    async def flush(self) -> None:
        """Write what this workflow task changed: the search attributes in one upsert, the view in one save.

        Called before the workflow waits (``waiting.py``, ``attention.py``), before a partner call that
        must wait as an activity of its own (``calls.py``), before it ends, and by handlers that change the
        return while the saga is not woken (an urge)."""
        if self._unsaved:
            await self.save()
        if self._unshown:
            self._unshown = False
            self._upsert(self.view.status)

    @property
    def _batched(self) -> bool:
        return shapes.at_least(1)

    async def _changed(self) -> None:
        if self._batched:
            self._unsaved = True
        else:
            await self.save()

    def show(self, status: Status, note: str) -> None:
        """What operators see in Temporal UI: the search attributes a step changes and the status as current
        details. The attributes go in one upsert per workflow task (``flush``) for a run of shape 1 on."""
        workflow.set_current_details(f"**{status.value}** {note}".strip())
        if self._batched:
            self._unshown = True
        else:
            self._upsert(status)

    def _upsert(self, status: Status) -> None:
        """The attributes that change, in one upsert (shape 2 on: none when none did); all of them for a return
        started without those known at its start (as before they existed)."""
        if not shapes.patched(PRIORITY_ATTRIBUTE_PATCH):
            workflow.upsert_search_attributes([RETURN_STATUS.value_set(status.value)])
        elif workflow.info().typed_search_attributes.get(RETURN_TYPE) is None:
            workflow.upsert_search_attributes(search_attributes.of_return(self.view))
        elif not shapes.at_least(2):
            workflow.upsert_search_attributes(search_attributes.changing(self.view))
        elif changed := search_attributes.changed(self.view, workflow.info().typed_search_attributes):
            workflow.upsert_search_attributes(changed)

    def show_priority(self) -> None:
        """The priority changed without the status (an urge): Temporal UI's queries sort by it at once."""
        if self._batched:
            self._unshown = True
        else:
            workflow.upsert_search_attributes(search_attributes.changing(self.view))
