"""The learned risk model: the features it reads, how it scores a return, and how its word joins the rules'.

Pure: ``assist/risk_training.py`` fits the coefficients on the store's own returns (scikit-learn's
logistic regression) and writes them as JSON; the API reads that file, and these functions score a
return with it. A logistic regression explains itself: each feature's contribution to the score is its
coefficient times its standardised value, so the decision can name the three that weighed most.
"""

import math
from datetime import datetime

from pydantic import BaseModel, Field

from domain.evaluation import CLAIMS_WITHOUT_ITEM
from domain.orders import Order
from domain.policy import Policy
from domain.returns import ReturnRequest, ReturnView
from domain.risk import BAD_CONDITIONS, CustomerHistory, Level, RiskAssessment

MODEL_FORMAT = 1
# Below this many labelled returns (and of each outcome) a model would learn noise: training refuses.
MIN_LABELLED_RETURNS = 200
MIN_PER_OUTCOME = 20

# Feature → what it means in words (shown with the model's factors).
FEATURES: dict[str, str] = {
    "prior_orders": "orders in the lookback",
    "prior_returns": "returns in the lookback",
    "return_rate": "share of orders returned",
    "bad_inspections": "earlier returns found not as described or missing",
    "log_amount": "value of this return",
    "merchant_liable_share": "share of lines claimed as the merchant's fault",
    "days_since_delivery": "days between delivery and this return",
    "claims_without_item": "claims the item never came or is missing",
}
LEVELS: tuple[Level, ...] = ("low", "medium", "high")


class ReturnFeatures(BaseModel):
    """One return as the model sees it: the customer's history before it and the return itself."""

    prior_orders: float
    prior_returns: float
    return_rate: float
    bad_inspections: float
    log_amount: float
    merchant_liable_share: float
    days_since_delivery: float
    claims_without_item: float

    def vector(self) -> list[float]:
        return [getattr(self, name) for name in FEATURES]


def return_features(
    history: CustomerHistory,
    amount: float,
    merchant_liable_lines: int,
    lines: int,
    claims_without_item: bool,
    delivered_at: datetime | None,
    requested_at: datetime,
) -> ReturnFeatures:
    days = (requested_at - delivered_at).total_seconds() / 86_400 if delivered_at else 0.0
    return ReturnFeatures(
        prior_orders=float(history.orders),
        prior_returns=float(history.returns),
        return_rate=history.returns / history.orders if history.orders else 0.0,
        bad_inspections=float(history.bad_inspections),
        log_amount=math.log1p(max(amount, 0.0)),
        merchant_liable_share=merchant_liable_lines / lines if lines else 0.0,
        days_since_delivery=max(days, 0.0),
        claims_without_item=1.0 if claims_without_item else 0.0,
    )


def request_features(
    history: CustomerHistory, order: Order, request: ReturnRequest, policy: Policy, now: datetime
) -> ReturnFeatures:
    """The features of a return being asked for (the API scores it before the workflow starts)."""
    amount = 0.0
    for wanted in request.lines:
        line = order.line(wanted.line_id)
        amount += float(line.unit_price * wanted.quantity) if line else 0.0
    return return_features(
        history,
        amount=amount,
        merchant_liable_lines=sum(1 for wanted in request.lines if wanted.reason not in policy.customer_reasons),
        lines=len(request.lines),
        claims_without_item=any(wanted.reason in CLAIMS_WITHOUT_ITEM for wanted in request.lines),
        delivered_at=order.delivered_at,
        requested_at=now,
    )


def bad_outcome(view: ReturnView) -> bool | None:
    """How a recorded return ended, as the model learns it: True when inspection found an item not as
    described or missing, or a deposit was kept; False when it was inspected and neither; None (not
    labelled) when it was never inspected."""
    if any(hold.status == "kept" for hold in view.refund.holds):
        return True
    conditions = [line.condition for line in view.lines if line.condition is not None]
    if not conditions:
        return None
    return any(condition in BAD_CONDITIONS for condition in conditions)


class RiskModel(BaseModel):
    """A fitted model as saved: standardisation, coefficients, the probability cut-offs, how it measured."""

    format: int = MODEL_FORMAT
    version: str = Field(description="When it was trained, e.g. 2026-12-02T04:00:00Z; the decision names it.")
    features: list[str]
    means: list[float]
    scales: list[float]
    coefficients: list[float]
    intercept: float
    medium_probability: float = Field(description="From this probability of a bad outcome the level is medium.")
    high_probability: float = Field(description="From this probability the level is high.")
    trained_on: int = Field(description="Labelled returns it was fitted and tested on.")
    held_out_auc: float
    rules_held_out_auc: float


class ModelRisk(BaseModel):
    probability: float
    level: Level
    factors: list[str] = Field(description="The three features that raised the score most, in words.")


def score(model: RiskModel, features: ReturnFeatures) -> ModelRisk:
    values = dict(zip(FEATURES, features.vector(), strict=True))
    contributions = [
        (coefficient * (values[name] - mean) / scale, name)
        for name, mean, scale, coefficient in zip(
            model.features, model.means, model.scales, model.coefficients, strict=True
        )
    ]
    logit = model.intercept + sum(contribution for contribution, _ in contributions)
    probability = 1 / (1 + math.exp(-max(min(logit, 40.0), -40.0)))
    level: Level = (
        "high"
        if probability >= model.high_probability
        else "medium"
        if probability >= model.medium_probability
        else "low"
    )
    raising = sorted((c for c in contributions if c[0] > 0), reverse=True)[:3]
    factors = [f"{FEATURES[name]} ({values[name]:.2f})" for _, name in raising]
    return ModelRisk(probability=round(probability, 3), level=level, factors=factors)


def with_model(risk: RiskAssessment, model: RiskModel, model_risk: ModelRisk) -> RiskAssessment:
    """The rules' assessment raised to the model's level when that is higher, the model's factors named."""
    level = max(risk.level, model_risk.level, key=LEVELS.index)
    reason = (
        f"learned model {model.version}: {model_risk.level} "
        f"({model_risk.probability:.0%} likely to end badly); top factors: " + ("; ".join(model_risk.factors) or "none")
    )
    return risk.model_copy(update={"level": level, "reasons": [*risk.reasons, reason]})


def weights_in_words(model: RiskModel) -> list[str]:
    """Each feature's weight, strongest first: which way it pushes and how hard (per standard deviation)."""
    ranked = sorted(zip(model.coefficients, model.features, strict=True), key=lambda pair: -abs(pair[0]))
    return [
        f"{_direction(weight, FEATURES[name])} (weight {weight:+.2f} per standard deviation)" for weight, name in ranked
    ]


def _direction(weight: float, feature: str) -> str:
    """A weight that rounds to nothing pushes neither way (e.g. a feature that never varied in training)."""
    if round(weight, 2) == 0:
        return f"{feature} → no effect"
    return f"more {feature} → {'riskier' if weight > 0 else 'safer'}"
