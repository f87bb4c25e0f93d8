"""Which of a person's acts a return takes now: review, inspect, cancel, and the attention's actions.

The return workflow's Update validators decide with these functions from the saga's
step, and the console decides from the view which forms to show: both read the
same rule. The view does not carry the saga's step, but its timeline does: each
step is recorded with its own status, and while an attention is open the return
shows ``needs_attention`` on top of the step it waits in (``saga_stage``).
"""

from dataclasses import dataclass, field
from typing import Literal

from domain.attention import AttentionAction
from domain.returns import CANCELABLE_STATUSES, FINAL_STATUSES, ReturnView, Status


def may_review(stage: Status) -> bool:
    return stage == Status.UNDER_REVIEW


def may_inspect(stage: Status) -> bool:
    return stage == Status.RECEIVED


def may_cancel(stage: Status) -> bool:
    """Before the parcel moves: once it is in transit the return can only go on (or be resolved)."""
    return stage in CANCELABLE_STATUSES


def saga_stage(view: ReturnView) -> Status:
    """The step the return's saga is in: its status, or under ``needs_attention`` the last step its
    timeline records (an escalation is recorded as ``needs_attention`` and changes no step)."""
    if view.status != Status.NEEDS_ATTENTION:
        return view.status
    steps = [entry.status for entry in view.timeline if entry.status != Status.NEEDS_ATTENTION]
    return steps[-1] if steps else Status.REQUESTED


@dataclass(frozen=True)
class OfferedActs:
    review: bool = False
    inspect: bool = False
    cancel: bool = False
    resolve: list[AttentionAction] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return self.review or self.inspect or self.cancel or bool(self.resolve)


def offered_acts(view: ReturnView) -> OfferedActs:
    """The acts that fit the return now, as its workflow would accept them."""
    stage = saga_stage(view)
    return OfferedActs(
        review=may_review(stage),
        inspect=may_inspect(stage),
        cancel=may_cancel(stage),
        resolve=list(view.attention.actions) if view.attention else [],
    )


InspectionRefusal = Literal["nothing_ships_back", "already_inspected", "ended", "in_transit", "not_sent"]


def inspection_refusal(view: ReturnView) -> InspectionRefusal | None:
    """Why a parcel scanned at the inspection station cannot be graded now (None: it can)."""
    stage = saga_stage(view)
    if may_inspect(stage):
        return None
    if view.logistics.method == "none":
        return "nothing_ships_back"
    if any(line.condition is not None for line in view.lines):
        return "already_inspected"
    if stage in FINAL_STATUSES:
        return "ended"
    return "in_transit" if stage == Status.IN_TRANSIT else "not_sent"
