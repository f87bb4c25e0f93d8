"""The return as its workflow keeps it: every change is timestamped, shown in Temporal UI and saved.

The read model is written by the workflow (through a local activity) at every
change, with a revision so that a late write never overwrites a newer one
(docs/adr/0001-read-model-written-by-the-workflow.md).
"""

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.returns import FINAL_STATUSES, ReturnView, Status, TimelineEntry
    from messages import return_activities as act
    from messages import search_attributes
    from messages.search_attributes import RETURN_STATUS, RETURN_TYPE
    from workflows.calls import store

# The priority became a search attribute too; returns shown before that upsert their status alone. (The other
# attributes came later without a marker: the server replays an upsert by its place, not by what it holds.)
PRIORITY_ATTRIBUTE_PATCH = "priority-search-attribute"


class ReturnRecord:
    def __init__(self) -> None:
        self._view: ReturnView | None = None
        self._revision = 0
        # The saga step we are in; the shown status can differ (needs_attention).
        self.stage = Status.REQUESTED
        # When the customer last urged the return: it stays high priority from then on.
        self.urged_at: datetime | None = None

    @property
    def opened(self) -> bool:
        return self._view is not None

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

    def open(self, view: ReturnView) -> None:
        """The first view, already written by the activity that claimed its units."""
        self._view = view
        self.stage = view.status
        self.show(view.status, "")

    async def transition(self, status: Status, note: str = "") -> None:
        """Move the saga to ``status``. While an attention is open the return keeps showing
        ``needs_attention`` (the timeline still records the step); an end status always shows."""
        view = self.view
        if status != Status.NEEDS_ATTENTION:  # escalation shows on the status; the saga step stays
            self.stage = status
        waiting_for_person = view.attention is not None and status not in FINAL_STATUSES
        shown = Status.NEEDS_ATTENTION if waiting_for_person else status
        view.status, view.updated_at = shown, workflow.now()
        view.timeline.append(TimelineEntry(status=status, at=view.updated_at, note=note))
        self.show(shown, note)
        await self.save()

    async def note(self, note: str) -> None:
        """A timeline entry that does not change the status."""
        view = self.view
        view.updated_at = workflow.now()
        view.timeline.append(TimelineEntry(status=view.status, at=view.updated_at, note=note))
        await self.save()

    def note_unsaved(self, note: str) -> None:
        """A timeline entry the next save writes (used while undoing, where a save could fail too)."""
        self.view.timeline.append(TimelineEntry(status=self.view.status, at=workflow.now(), note=note))

    async def escalate(self, note: str) -> None:
        self.view.priority = "high"
        await self.transition(Status.NEEDS_ATTENTION, note)

    async def save(self) -> None:
        await store(act.SAVE_RETURN, act.SnapshotOfReturn(view=self.view, revision=self.next_revision()))

    def show(self, status: Status, note: str) -> None:
        """What operators see in Temporal UI: the search attributes a step changes (in one upsert; all of them
        for a return started without those known at its start, as before they existed) and the status as
        current details."""
        if not workflow.patched(PRIORITY_ATTRIBUTE_PATCH):
            workflow.upsert_search_attributes([RETURN_STATUS.value_set(status.value)])
        elif workflow.info().typed_search_attributes.get(RETURN_TYPE) is None:
            workflow.upsert_search_attributes(search_attributes.of_return(self.view))
        else:
            workflow.upsert_search_attributes(search_attributes.changing(self.view))
        workflow.set_current_details(f"**{status.value}** {note}".strip())

    def show_priority(self) -> None:
        """The priority changed without the status (an urge): Temporal UI's queries sort by it at once."""
        workflow.upsert_search_attributes(search_attributes.changing(self.view))
