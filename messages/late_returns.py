"""The activities of a return kept waiting: the operators told of an urge, and compensation for a missed deadline.

Implemented in ``activities/late_returns.py``; the workflow side is ``workflows/urging.py``
and ``workflows/sla_compensation.py``.
"""

from pydantic import BaseModel

from domain.money import Amount
from domain.sla_compensation import CompensationKind, IssuedCompensation
from messages.activity_ref import ActivityRef
from messages.return_activities import NoResult, SnapshotOfReturn


class NotifyOperators(BaseModel):
    """Tell the merchant's staff about a return (the notifications partner's ``operators`` recipient)."""

    idempotency_key: str
    return_id: str
    template: str
    data: dict[str, str] = {}


class IssueCompensation(BaseModel):
    idempotency_key: str
    return_id: str
    customer_id: str
    kind: CompensationKind
    amount: Amount
    currency: str


class CompensationIssued(BaseModel):
    promotion_id: str
    code: str | None


class RecordCompensation(SnapshotOfReturn):
    """Save the view listing the compensation, its ledger row and the customer's message, in one transaction."""

    idempotency_key: str
    compensation: IssuedCompensation
    unit: str  # the ledger's currency: the order's, or points


# Partner calls.
NOTIFY_OPERATORS = ActivityRef(
    "notify_operators", NotifyOperators, NoResult, lambda a: f"tell the operators: {a.template}"
)
ISSUE_COMPENSATION = ActivityRef(
    "issue_compensation",
    IssueCompensation,
    CompensationIssued,
    lambda a: f"compensate the customer: {a.kind} {a.amount} {a.currency}",
)
# Store write (local activity).
RECORD_COMPENSATION = ActivityRef(
    "record_compensation",
    RecordCompensation,
    NoResult,
    lambda a: f"record the {a.compensation.kind} compensation, revision {a.revision}",
)
