"""One timer that a return's successive waits share, so that most waits cost no timer events at all.

A return waits one thing after another: its parcel's first scan (the ship-by deadline,
14 days), its arrival (30 days after pickup), an inspection (72 hours after receipt).
With a timer per wait, each wait that ends in time costs two events, the timer started
and the timer cancelled. Shared, a wait whose deadline lies at or after the running
timer keeps it: the transit wait keeps the ship-by timer, which always fires first, and
when it does, the wait arms a new timer for what remains of its own deadline. A wait that
needs an earlier one cancels it and starts its own. A timer no wait needs any more is
cancelled by the next wait, not when the last one ends, so a workflow that ends first
never pays for cancelling it: Temporal writes no event for a timer still running when the
workflow completes. Should a return then wait on something without a deadline (a person,
an attention), a leftover timer may still fire once and wake it for nothing: one workflow
task in a rare path, for events saved on every return.
"""

import asyncio
from datetime import datetime

from temporalio import workflow


class DeadlineTimer:
    def __init__(self) -> None:
        self._timer: asyncio.Future[None] | None = None
        self._fires_at: datetime | None = None

    def arm(self, deadline: datetime, summary: str) -> None:
        """Make sure the timer fires at ``deadline`` or before; ``summary`` names a timer started for it."""
        if self._running and self._fires_at is not None and self._fires_at <= deadline:
            return
        self.cancel()
        self._fires_at = deadline
        self._timer = asyncio.ensure_future(workflow.sleep(deadline - workflow.now(), summary=summary))

    def cancel(self) -> None:
        """No wait needs the timer any more (a wait without a deadline)."""
        if self._running:
            assert self._timer is not None
            self._timer.cancel()
        self._timer, self._fires_at = None, None

    @property
    def fired(self) -> bool:
        """The timer went off: a wait whose deadline has come times out, another arms the timer again."""
        return self._timer is not None and self._timer.done() and not self._timer.cancelled()

    @property
    def _running(self) -> bool:
        return self._timer is not None and not self._timer.done()
