"""A typed reference to an activity, shared by the workflow that calls it and the worker that runs it.

The workflow calls ``execute_activity(ref.name, arg, result_type=ref.result_type)``
through ``workflows/calls.py``, so its result has the declared type instead of
``Any``; the implementation is registered under ``ref.name``. Neither side
imports the other (a test checks that every reference has an implementation
with the same argument and result types).

``describe`` says in words what one call does ("refund 30.00 USD to payment p1"):
the workflow shows it as the call's summary in Temporal UI. It gets the argument
only, and must not repeat anything personal from it (names, addresses, notes).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class ActivityRef(Generic[ArgT, ResultT]):
    name: str
    arg_type: type[ArgT]
    result_type: type[ResultT]
    describe: Callable[[ArgT], str] | None = None

    def summary(self, arg: ArgT) -> str:
        """The call's summary in Temporal UI; without ``describe``, the activity's name in words."""
        return self.describe(arg) if self.describe else self.name.replace("_", " ")
