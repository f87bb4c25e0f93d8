"""The undo steps of a return's saga, registered as it goes and run in reverse when it stops."""

import asyncio
from collections.abc import Awaitable, Callable

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.compensations import CompensationStep

Undo = Callable[[], Awaitable[None]]


class Compensations:
    def __init__(self) -> None:
        self._steps: list[tuple[CompensationStep, Undo]] = []

    def add(self, step: CompensationStep, undo: Undo) -> None:
        self._steps.append((step, undo))

    def discard(self, step: CompensationStep) -> None:
        """The step no longer needs undoing (a replacement that shipped has nothing to release)."""
        self._steps = [(registered, undo) for registered, undo in self._steps if registered != step]

    async def run(self, on_failure: Callable[[CompensationStep], None]) -> None:
        """Undo in reverse order, telling ``on_failure`` of each step that failed; the failed steps stay
        registered for ``retry``. A failure or a cancellation of one undo does not stop the others
        (workflow eviction still propagates)."""
        failed: list[tuple[CompensationStep, Undo]] = []
        while self._steps:
            step, undo = self._steps.pop()
            try:
                await undo()
            except (Exception, asyncio.CancelledError) as failure:
                workflow.logger.warning("compensation failed", extra={"step": step.value, "error": str(failure)})
                on_failure(step)
                failed.append((step, undo))
        self._steps = failed[::-1]

    @property
    def failed(self) -> list[CompensationStep]:
        """After ``run``: the steps that could not be undone."""
        return [step for step, _ in self._steps]

    def forget(self) -> None:
        """A person undid the failed steps by hand."""
        self._steps = []
