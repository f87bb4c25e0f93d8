"""The store's recorded returns as the risk model learns from them: each labelled return's features (the
customer's history as it stood when the return was asked for) and how it ended."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.clock import as_utc
from domain.evaluation import CLAIMS_WITHOUT_ITEM
from domain.returns import ReturnView
from domain.risk import BAD_CONDITIONS, CustomerHistory, Level, RiskRules, assess
from domain.risk_model import ReturnFeatures, bad_outcome, return_features
from store.customers import NOT_RETURNED
from store.tables import OrderRow, ReturnRow


@dataclass(frozen=True)
class LabelledReturn:
    features: ReturnFeatures
    rules_level: Level  # what the rule-based score said of it, to compare the model with
    bad: bool


async def labelled_returns(session: AsyncSession, rules: RiskRules) -> list[LabelledReturn]:
    """Every inspected return (or one whose deposit was kept) with what was known before it."""
    orders = (
        await session.execute(
            select(OrderRow.order_id, OrderRow.customer_id, OrderRow.placed_at, OrderRow.delivered_at)
        )
    ).all()
    views = [ReturnView.model_validate(doc) for doc in await session.scalars(select(ReturnRow.document))]
    delivered = {order_id: as_utc(at) if at else None for order_id, _, _, at in orders}
    placed: dict[str, list[datetime]] = {}
    for _, customer, at, _ in orders:
        placed.setdefault(customer, []).append(as_utc(at))
    by_customer: dict[str, list[ReturnView]] = {}
    for view in views:
        by_customer.setdefault(view.customer_id, []).append(view)
    labelled = []
    for view in views:
        bad = bad_outcome(view)
        if bad is None:
            continue
        history = _history_before(view, placed.get(view.customer_id, []), by_customer[view.customer_id], rules)
        features = return_features(
            history,
            amount=float(sum(line.unit_price * line.quantity for line in view.lines)),
            merchant_liable_lines=sum(1 for line in view.lines if line.liability == "merchant"),
            lines=len(view.lines),
            claims_without_item=any(line.reason in CLAIMS_WITHOUT_ITEM for line in view.lines),
            delivered_at=delivered.get(view.order_id),
            requested_at=as_utc(view.created_at),
        )
        labelled.append(LabelledReturn(features, assess(history, rules).level, bad))
    return labelled


def _history_before(
    view: ReturnView, placed: list[datetime], returns: list[ReturnView], rules: RiskRules
) -> CustomerHistory:
    """The customer's history over the lookback as it stood when ``view`` was asked for."""
    at = as_utc(view.created_at)
    since = at - timedelta(days=rules.lookback_days)
    earlier = [
        other for other in returns if since <= as_utc(other.created_at) < at and other.status.value not in NOT_RETURNED
    ]
    return CustomerHistory(
        orders=sum(1 for placed_at in placed if since <= placed_at <= at),
        returns=len(earlier),
        bad_inspections=sum(1 for other in earlier for line in other.lines if line.condition in BAD_CONDITIONS),
    )
