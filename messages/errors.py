"""The ``ApplicationError`` types workflows and activities raise for business outcomes.

The API maps each to an HTTP status (``api/workflow_calls.py``); the workflow
reacts to the ones its activities raise.
"""

from enum import StrEnum


class ErrorType(StrEnum):
    # Raised by update validators and handlers.
    STATUS_CONFLICT = "StatusConflict"  # the return is not in a status that allows this (409)
    INVALID_INPUT = "InvalidInput"  # the update's content does not fit the return (422)
    INELIGIBLE = "Ineligible"  # the policy refuses the return (422)
    TOO_SOON = "TooSoon"  # asked again before it may be (429; the detail carries retry_after seconds)
    # Raised by activities.
    NOT_RETURNABLE = "NotReturnable"  # the units were claimed by another return meanwhile (422)
