"""Return metrics over a period, computed from the read model (pure)."""

import math
from collections import Counter

from pydantic import BaseModel

from domain.returns import ReturnView, Status


class Rates(BaseModel):
    returns: int
    return_rate: float | None  # returns per order placed in the period
    auto_approval_rate: float | None
    dispute_rate: float | None
    refund_hours_p50: float | None  # from request to completed
    refund_hours_p90: float | None
    reasons: dict[str, int]


class ReturnMetrics(Rates):
    orders: int
    by_category: dict[str, Rates]


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile; None without data."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return round(ordered[rank - 1], 2)


def _hours_to_complete(view: ReturnView) -> float | None:
    done = next((t.at for t in view.timeline if t.status == Status.COMPLETED), None)
    return (done - view.created_at).total_seconds() / 3600 if done else None


def _rates(views: list[ReturnView], orders: int, disputed: set[str]) -> Rates:
    hours = [h for h in map(_hours_to_complete, views) if h is not None]
    reasons = Counter(line.reason.value for view in views for line in view.lines)
    return Rates(
        returns=len(views),
        return_rate=_share(len(views), orders),
        auto_approval_rate=_share(sum(v.decision.outcome == "auto_approved" for v in views), len(views)),
        dispute_rate=_share(sum(v.id in disputed for v in views), len(views)),
        refund_hours_p50=_percentile(hours, 0.5),
        refund_hours_p90=_percentile(hours, 0.9),
        reasons=dict(reasons.most_common()),
    )


def compute(
    views: list[ReturnView],
    orders: int,
    orders_by_category: dict[str, int],
    category_of_line: dict[tuple[str, str], str],
    disputed: set[str],
) -> ReturnMetrics:
    """``category_of_line`` maps (order id, line id) to the line's category."""
    by_category: dict[str, list[ReturnView]] = {}
    for view in views:
        for category in {category_of_line.get((view.order_id, line.line_id), "") for line in view.lines}:
            by_category.setdefault(category or "uncategorized", []).append(view)
    return ReturnMetrics(
        **_rates(views, orders, disputed).model_dump(),
        orders=orders,
        by_category={
            category: _rates(members, orders_by_category.get(category, 0), disputed)
            for category, members in sorted(by_category.items())
        },
    )
