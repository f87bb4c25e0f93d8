"""ReturnWorkflow's start input and signal payload; its updates take domain models (review, inspection, cancel)."""

from datetime import datetime

from pydantic import BaseModel, Field

from domain.evaluation import Evaluation
from domain.opening import open_view
from domain.orders import Order
from domain.policy import Policy
from domain.returns import ReturnRequest, ReturnView, ScanEvent
from domain.risk import RiskAssessment
from messages.return_activities import RequestedBy

WORKFLOW_NAME = "ReturnWorkflow"


# The shape of the saga new runs follow (workflows/shapes.py says what each shape includes).
CURRENT_SHAPE = 2


class StartReturn(BaseModel):
    """Everything the decision needs, frozen at request time.

    The order and the policy travel with the workflow so that a return keeps the
    policy version it started with. ``evaluation`` is the policy's decision, made
    once in the API before the workflow starts; histories recorded before it
    travelled here have none, and the workflow evaluates the same inputs itself.
    """

    return_id: str
    order: Order
    request: ReturnRequest
    policy: Policy
    policy_version: int
    requested_at: datetime
    already_returned: dict[str, int] = Field(default_factory=dict)
    risk: RiskAssessment = Field(default_factory=RiskAssessment)
    evaluation: Evaluation | None = None
    # The saga's shape this run follows (workflows/shapes.py); runs started before shapes have none.
    shape: int = 0
    # Who asked ("role:id", as the audit trail names actors): the return's first write records its "return.create"
    # entry in the same transaction. Runs started before have none (the API recorded the entry itself).
    requested_by: str | None = None


def opened_view(start: StartReturn, evaluation: Evaluation, now: datetime) -> ReturnView:
    """The return's first view (``domain.opening.open_view``), from what its start carries."""
    return open_view(
        start.return_id, start.order, start.request, evaluation, start.policy_version, start.requested_at, now
    )


def requested_by(start: StartReturn, evaluation: Evaluation) -> RequestedBy | None:
    """Who asked for the return, for the audit entry its first write records; None for a start that does not
    say (the API recorded the entry)."""
    if start.requested_by is None:
        return None
    return RequestedBy(actor=start.requested_by, overridden=evaluation.overridden)


class CarrierScan(BaseModel):
    tracking_number: str
    event: ScanEvent
    occurred_at: datetime


# The query of the return's current view, by name for callers that do not import the workflow (activities).
VIEW_QUERY = "view"


def summary_of(start: StartReturn) -> str:
    """The workflow's summary in Temporal UI's list: what the return is and for which order ("exchange for
    order O1001"); no personal data."""
    kind = start.evaluation.type.replace("_", " ") if start.evaluation else "return"
    return f"{kind} for order {start.order.order_id}"


def details_of(start: StartReturn) -> str:
    """The workflow's details in Temporal UI (Markdown): where the request came from and what judged it."""
    return f"channel **{start.request.channel}** · policy v{start.policy_version} · risk **{start.risk.level}**"
