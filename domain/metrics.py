"""Return metrics over a period: what counts, and how the counts become rates and percentiles (pure).

The store keeps a few facts beside each return and order (``is_auto_approved``, ``refund_hours``,
``line_facts``, ``order_counted_under``) and counts them in SQL for a period; ``return_metrics``
turns those counts into what ``GET /v1/metrics/returns`` and the dashboard show.
"""

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from domain.clock import as_utc
from domain.returns import ReturnView, Status
from domain.surveys import SurveyScores, survey_scores

# The longest period one metrics call covers: a year, leap day included.
MAX_PERIOD = timedelta(days=366)
# How a line without a category is shown.
UNCATEGORIZED = "uncategorized"

# ---- the figures -------------------------------------------------------------


class Rates(BaseModel):
    returns: int = Field(description="Returns requested in the period.")
    return_rate: float | None = Field(
        description="Returns per order placed in the period (for a category or SKU: per order with a line of it); "
        "null without orders."
    )
    auto_approval_rate: float | None = Field(
        description="Share of the returns the policy approved on its own; null without returns."
    )
    dispute_rate: float | None = Field(description="Share of the returns the customer disputed; null without returns.")
    refund_hours_p50: float | None = Field(
        description="Time to refund, hours from request to completed: median (nearest rank) over the completed "
        "returns; null when none is completed."
    )
    refund_hours_p90: float | None = Field(description="Time to refund: 90th percentile (nearest rank), as p50.")
    reasons: dict[str, int] = Field(description="Returned lines per reason, most frequent first.")


class DayRates(BaseModel):
    date: dt.date = Field(description="The calendar day, UTC.")
    returns: int = Field(description="Returns requested that day.")
    orders: int = Field(description="Orders placed that day.")
    return_rate: float | None = Field(description="Returns per order placed that day; null without orders.")
    auto_approval_rate: float | None = Field(description="Share of that day's returns approved by the policy alone.")
    refunds_completed: int = Field(description="How many of that day's returns are completed.")
    refund_hours_p50: float | None = Field(
        description="Time to refund of that day's completed returns, median (nearest rank); null when none is."
    )


class ReturnMetrics(Rates):
    orders: int = Field(description="Orders placed in the period.")
    by_category: dict[str, Rates] = Field(
        description="The same figures per category of the returned lines (a return with lines of two categories "
        f"counts in both; a line without one under `{UNCATEGORIZED}`), for the categories with returns."
    )
    by_sku: dict[str, Rates] = Field(
        description="The same figures per SKU of the returned lines (a return of two SKUs counts in both), "
        "for the SKUs with returns."
    )
    daily: list[DayRates] = Field(
        description="One entry per calendar day (UTC) of the period, oldest first, days without returns included."
    )
    survey: SurveyScores = Field(
        default_factory=lambda: survey_scores({}),
        description="How the satisfaction surveys answered in the period scored.",
    )


# ---- the period --------------------------------------------------------------


class InvalidPeriod(ValueError):
    """A period metrics cannot be read for; ``field`` and ``code`` say which parameter and why."""

    def __init__(self, field: Literal["from", "to"], code: str, message: str):
        super().__init__(message)
        self.field = field
        self.code = code


def check_period(start: datetime, end: datetime) -> None:
    if start >= end:
        raise InvalidPeriod("from", "invalid_range", "from must be before to")
    if end - start > MAX_PERIOD:
        raise InvalidPeriod("to", "period_too_long", f"the period may span at most {MAX_PERIOD.days} days")


def days_of(start: datetime, end: datetime) -> list[date]:
    """The calendar days (UTC) that the period from ``start`` up to (not including) ``end`` touches."""
    first = as_utc(start).date()
    last = (as_utc(end) - timedelta(microseconds=1)).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# ---- the facts kept per return and per order ------------------------------------


def is_auto_approved(view: ReturnView) -> bool:
    """The policy approved the return on its own, with no person deciding."""
    return view.decision.outcome == "auto_approved"


def refund_hours(view: ReturnView) -> float | None:
    """Time to refund: hours from the request to the return's completion; None until it is completed."""
    done = next((t.at for t in view.timeline if t.status == Status.COMPLETED), None)
    return (done - view.created_at).total_seconds() / 3600 if done else None


@dataclass(frozen=True)
class LineFact:
    """One returned line as the metrics count it.

    A return counts once for each of its SKUs and categories however many of its lines have it:
    ``first_for_sku``/``first_for_category`` mark the line that carries that count, so that SQL can
    count returns per SKU and per category in the same pass that counts lines per reason.
    """

    line_id: str
    sku: str
    category: str
    reason: str
    first_for_sku: bool
    first_for_category: bool


def line_facts(view: ReturnView, ordered: Mapping[str, tuple[str, str]]) -> list[LineFact]:
    """The return's lines, with ``ordered`` (line id → the order line's SKU and category) saying what each is."""
    facts, skus, categories = [], set(), set()
    for line in view.lines:
        sku, category = ordered.get(line.line_id, (line.sku, ""))
        facts.append(
            LineFact(line.line_id, sku, category, line.reason.value, sku not in skus, category not in categories)
        )
        skus.add(sku)
        categories.add(category)
    return facts


OrderDimension = Literal["all", "category", "sku"]
# What one order is counted under: the day it was placed (UTC), and all orders, a category or a SKU ("" for all).
OrderCountKey = tuple[date, OrderDimension, str]


def order_counted_under(placed_at: datetime, lines: Iterable[tuple[str, str]]) -> frozenset[OrderCountKey]:
    """An order counts once on the day it was placed: in all, and per category and SKU of its (SKU, category) lines."""
    day = as_utc(placed_at).date()
    keys: set[OrderCountKey] = {(day, "all", "")}
    for sku, category in lines:
        keys |= {(day, "category", category), (day, "sku", sku)}
    return frozenset(keys)


# ---- from counts to figures ----------------------------------------------------


@dataclass
class Tally:
    """What the store counted for one group of a period's returns: a day, a category or a SKU."""

    orders: int = 0
    returns: int = 0
    auto_approved: int = 0
    disputed: int = 0
    refund_hours: list[float] = field(default_factory=list)  # of the completed returns
    reasons: Counter[str] = field(default_factory=Counter)  # returned lines per reason


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile, to two decimals; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return round(ordered[rank - 1], 2)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def rates(tally: Tally) -> Rates:
    return Rates(
        returns=tally.returns,
        return_rate=_share(tally.returns, tally.orders),
        auto_approval_rate=_share(tally.auto_approved, tally.returns),
        dispute_rate=_share(tally.disputed, tally.returns),
        refund_hours_p50=percentile(tally.refund_hours, 0.5),
        refund_hours_p90=percentile(tally.refund_hours, 0.9),
        reasons=dict(sorted(tally.reasons.items(), key=lambda item: (-item[1], item[0]))),
    )


def day_rates(day: date, tally: Tally) -> DayRates:
    return DayRates(
        date=day,
        returns=tally.returns,
        orders=tally.orders,
        return_rate=_share(tally.returns, tally.orders),
        auto_approval_rate=_share(tally.auto_approved, tally.returns),
        refunds_completed=len(tally.refund_hours),
        refund_hours_p50=percentile(tally.refund_hours, 0.5),
    )


def return_metrics(
    by_day: Mapping[date, Tally],
    by_category: Mapping[str, Tally],
    by_sku: Mapping[str, Tally],
    start: datetime,
    end: datetime,
) -> ReturnMetrics:
    """The period's figures from its counts per day, per category and per SKU (a day or group not counted has none).

    The period's own counts are its days' (each order and return falls on one day), its reasons its
    categories' (each line has one category).
    """
    days = list(by_day.values())
    period = Tally(
        orders=sum(t.orders for t in days),
        returns=sum(t.returns for t in days),
        auto_approved=sum(t.auto_approved for t in days),
        disputed=sum(t.disputed for t in days),
        refund_hours=[hours for t in days for hours in t.refund_hours],
        reasons=sum((t.reasons for t in by_category.values()), Counter()),
    )
    return ReturnMetrics(
        **rates(period).model_dump(),
        orders=period.orders,
        by_category={
            category or UNCATEGORIZED: rates(tally) for category, tally in sorted(by_category.items()) if tally.returns
        },
        by_sku={sku: rates(tally) for sku, tally in sorted(by_sku.items()) if tally.returns},
        daily=[day_rates(day, by_day.get(day, Tally())) for day in days_of(start, end)],
    )
