"""Inputs of ReturnWorkflow and of its Updates and Signals (one pydantic model each)."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from temporalio.common import SearchAttributeKey

from domain.orders import Order, StrictModel
from domain.policy import Policy
from domain.returns import ReturnRequest
from domain.risk import RiskAssessment

WORKFLOW_NAME = "ReturnWorkflow"

# Shown and filterable in Temporal UI (`ReturnStatus = "needs_attention"`). Carries no personal data.
RETURN_STATUS = SearchAttributeKey.for_keyword("ReturnStatus")
SEARCH_ATTRIBUTES = [RETURN_STATUS]


class StartReturn(BaseModel):
    """Everything the decision needs, frozen at request time.

    The order and the policy travel with the workflow so that a return keeps the
    policy version it started with and replays the same decision.
    """

    return_id: str
    order: Order
    request: ReturnRequest
    policy: Policy
    policy_version: int
    requested_at: datetime
    already_returned: dict[str, int] = Field(default_factory=dict)
    risk: RiskAssessment = Field(default_factory=RiskAssessment)


class CarrierScan(BaseModel):
    tracking_number: str
    event: Literal["picked_up", "in_transit", "delivered", "exception"]
    occurred_at: datetime


class ReviewDecision(StrictModel):
    decision: Literal["approve", "reject"]
    note: str = Field("", max_length=2000)


# ApplicationError types raised by update validators and handlers; the API maps them to HTTP.
STATUS_CONFLICT = "StatusConflict"
INVALID_INPUT = "InvalidInput"
INELIGIBLE = "Ineligible"
