"""The two ways a return's forward path ends early, raised from wherever the saga is waiting."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.returns import Status


class ReturnStopped(Exception):
    """Cancel, expiry, rejection, or a person's decision to stop: the compensations run.

    ``by_person``: a person's resolution stopped it; its update answers once the return has ended.
    """

    def __init__(self, status: Status, note: str, by_person: bool = False):
        super().__init__(note)
        self.status = status
        self.note = note
        self.by_person = by_person


class ParcelLost(Exception):
    """A person closed the return as lost in transit: what was owed is paid and the return completes."""
