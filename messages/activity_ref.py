"""A typed reference to an activity, shared by the workflow that calls it and the worker that runs it.

The workflow calls ``execute_activity(ref.name, arg, result_type=ref.result_type)``
through ``workflows/calls.py``, so its result has the declared type instead of
``Any``; the implementation is registered under ``ref.name``. Neither side
imports the other (a test checks that every reference has an implementation
with the same argument and result types).
"""

from dataclasses import dataclass
from typing import Generic, TypeVar

ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class ActivityRef(Generic[ArgT, ResultT]):
    name: str
    arg_type: type[ArgT]
    result_type: type[ResultT]
