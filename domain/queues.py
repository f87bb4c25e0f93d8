"""What the operators' queues sort by, read off a return's view."""

from datetime import datetime

from domain.returns import ReturnView, Status


def status_since(view: ReturnView) -> datetime:
    """When the return came to show its current status: the attention's start while a person must act,
    else the latest timeline entry of that status (the last update when the timeline has none)."""
    if view.status == Status.NEEDS_ATTENTION and view.attention is not None:
        return view.attention.since
    entered = [entry.at for entry in view.timeline if entry.status == view.status]
    return max(entered) if entered else view.updated_at
