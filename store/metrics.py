"""The metric facts: kept beside returns and orders as they are written, and counted in SQL for a period.

Per return, its row holds ``auto_approved`` and ``refund_hours`` and each returned line has a row in
``return_line_facts``; orders are counted per day in ``daily_order_counts``. ``return_metrics`` counts
them with a handful of GROUP BY queries; no return document is read. The refund times of each group
come back joined in one string per group: one row per completed return would cost more than the rest.
"""

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    String,
    and_,
    case,
    cast,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from domain.clock import as_utc
from domain.metrics import (
    OrderCountKey,
    ReturnMetrics,
    Tally,
    check_period,
    is_auto_approved,
    line_facts,
    order_counted_under,
    refund_hours,
)
from domain.metrics import return_metrics as assemble
from domain.returns import ReturnView
from store.db import upserting_insert
from store.surveys import score_distribution
from store.tables import DailyOrderCount, OrderLineRow, OrderRow, ReturnLineFact, ReturnRow, Ticket, table_of

# ---- writing ---------------------------------------------------------------------


# The facts counted per return: columns of its row, and copied onto its line facts.
RETURN_FACT_COLUMNS = ("auto_approved", "refund_hours")


def return_fact_columns(view: ReturnView) -> dict[str, Any]:
    """The values of ``RETURN_FACT_COLUMNS`` for ``view``."""
    return dict(zip(RETURN_FACT_COLUMNS, (is_auto_approved(view), refund_hours(view)), strict=True))


def line_fact_rows(view: ReturnView, ordered: Mapping[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """The return's ``return_line_facts`` rows; ``ordered`` maps its order's line ids to their SKU and category."""
    copied = {"return_id": view.id, "created_at": view.created_at, **return_fact_columns(view)}
    return [{**asdict(fact), **copied} for fact in line_facts(view, ordered)]


_LINE_FACTS = table_of(ReturnLineFact)


async def add_line_facts(session: AsyncSession, view: ReturnView) -> None:
    """Write the line facts of a return being stored for the first time."""
    ordered = {
        line_id: (sku, category)
        for line_id, sku, category in await session.execute(
            select(OrderLineRow.line_id, OrderLineRow.sku, OrderLineRow.category).where(
                OrderLineRow.order_id == view.order_id
            )
        )
    }
    rows = line_fact_rows(view, ordered)
    if rows:  # a view may list no lines
        await session.execute(insert(_LINE_FACTS), rows)


async def update_return_facts(
    session: AsyncSession, return_id: str, stored: Mapping[str, Any], view: ReturnView
) -> dict[str, Any]:
    """Bring a stored return's line facts' copies to what ``view`` says; the columns of its row to set with them
    (none when ``stored``, its row's columns, already says so)."""
    columns = return_fact_columns(view)
    if all(stored[name] == value for name, value in columns.items()):
        return {}
    await session.execute(update(_LINE_FACTS).where(_LINE_FACTS.c.return_id == return_id).values(**columns))
    return columns


async def recount_order(
    session: AsyncSession, counted_before: frozenset[OrderCountKey], counted_now: frozenset[OrderCountKey]
) -> None:
    """Move an order's counts in ``daily_order_counts`` from what it counted under to what it counts under now.

    One ``INSERT … ON CONFLICT DO UPDATE`` adds to the counts, in key order: two orders counting on the
    same rows take their locks in the same order and never wait for each other crosswise.
    """
    changes = {key: +1 for key in counted_now - counted_before} | {key: -1 for key in counted_before - counted_now}
    if not changes:
        return
    statement = upserting_insert(session)(DailyOrderCount).values(
        [
            {"day": day, "dimension": dimension, "value": value, "orders": change}
            for (day, dimension, value), change in sorted(changes.items())
        ]
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["day", "dimension", "value"],
            set_={"orders": DailyOrderCount.orders + statement.excluded.orders},
        )
    )


# ---- reading ---------------------------------------------------------------------


async def return_metrics(session: AsyncSession, start: datetime, end: datetime) -> ReturnMetrics:
    """Everything ``GET /v1/metrics/returns`` answers for returns requested and orders placed from ``start`` to ``end``
    (and surveys answered then).

    Raises ``domain.metrics.InvalidPeriod`` for a period that ends before it starts or is too long.
    """
    check_period(start, end)
    start, end = as_utc(start), as_utc(end)  # SQLite compares the UTC text it stores
    counted = _Counted()
    await _count_returns_by_day(session, start, end, counted)
    await _count_returns_by_category_and_sku(session, start, end, counted)
    await _count_orders(session, start, end, counted)
    figures = assemble(counted.by_day, counted.by_category, counted.by_sku, start, end)
    figures.survey = await score_distribution(session, start, end)
    return figures


@dataclass
class _Counted:
    """The period's tallies, per day, per category and per SKU, as the queries add to them."""

    by_day: defaultdict[date, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_category: defaultdict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_sku: defaultdict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))

    def group(self, dimension: str, value: str) -> Tally:
        return (self.by_category if dimension == "category" else self.by_sku)[value]

    def add_orders(self, counted: Counter[OrderCountKey]) -> None:
        for (day, dimension, value), orders in counted.items():
            (self.by_day[day] if dimension == "all" else self.group(dimension, value)).orders += orders


class utc_date(FunctionElement[date]):
    """The calendar day (UTC) of a stored time: SQLite keeps UTC text, PostgreSQL a ``timestamptz``."""

    type = Date()
    inherit_cache = True


@compiles(utc_date, "sqlite")
def _utc_date_sqlite(element: utc_date, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(utc_date, "postgresql")
def _utc_date_postgresql(element: utc_date, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(timezone('UTC', {compiler.process(element.clauses, **kw)}) AS DATE)"


def _disputed(return_id: InstrumentedAttribute[str]) -> ColumnElement[bool]:
    return return_id.in_(select(Ticket.return_id).where(Ticket.kind == "dispute"))


def _joined_hours(hours: ColumnElement[Any] | InstrumentedAttribute[Any]) -> ColumnElement[Any]:
    """The group's refund times as one comma-separated string (NULLs left out); ``_split_hours`` reads it back."""
    return func.aggregate_strings(cast(hours, String), ",")


def _split_hours(joined: str | None) -> list[float]:
    return [float(hours) for hours in joined.split(",")] if joined else []


async def _count_returns_by_day(session: AsyncSession, start: datetime, end: datetime, counted: _Counted) -> None:
    day = utc_date(ReturnRow.created_at)
    for on, returns, auto_approved, disputed, hours in await session.execute(
        select(
            day,
            func.count(),
            func.count().filter(ReturnRow.auto_approved),
            func.count().filter(_disputed(ReturnRow.id)),
            _joined_hours(ReturnRow.refund_hours),
        )
        .where(ReturnRow.created_at >= start, ReturnRow.created_at < end)
        .group_by(day)
    ):
        tally = counted.by_day[on]
        tally.returns, tally.auto_approved, tally.disputed = returns, auto_approved, disputed
        tally.refund_hours = _split_hours(hours)


async def _count_returns_by_category_and_sku(
    session: AsyncSession, start: datetime, end: datetime, counted: _Counted
) -> None:
    """One pass over the period's line facts: lines per reason, and each return once per category and per SKU."""
    fact = ReturnLineFact
    for category, sku, reason, lines, *once in await session.execute(
        select(
            fact.category,
            fact.sku,
            fact.reason,
            func.count(),
            *_counted_once(fact.first_for_category),
            *_counted_once(fact.first_for_sku),
        )
        .where(fact.created_at >= start, fact.created_at < end)
        .group_by(fact.category, fact.sku, fact.reason)
    ):
        _add_counted_once(counted.by_category[category], reason, lines, *once[:4])
        _add_counted_once(counted.by_sku[sku], reason, lines, *once[4:])


def _counted_once(first_in_group: InstrumentedAttribute[bool]) -> tuple[ColumnElement[Any], ...]:
    """Returns, auto-approved, disputed and refund times, counted on the one line that is a return's first in
    the group (``LineFact.first_for_sku``/``first_for_category``)."""
    fact = ReturnLineFact
    return (
        func.count().filter(first_in_group),
        func.count().filter(and_(first_in_group, fact.auto_approved)),
        func.count().filter(and_(first_in_group, _disputed(fact.return_id))),
        _joined_hours(case((first_in_group, fact.refund_hours))),
    )


def _add_counted_once(
    tally: Tally, reason: str, lines: int, returns: int, auto_approved: int, disputed: int, hours: str | None
) -> None:
    tally.reasons[reason] += lines
    tally.returns += returns
    tally.auto_approved += auto_approved
    tally.disputed += disputed
    tally.refund_hours += _split_hours(hours)


async def _count_orders(session: AsyncSession, start: datetime, end: datetime, counted: _Counted) -> None:
    """The orders placed in the period, per day, per category and per SKU.

    The period's whole days are read from ``daily_order_counts``; the parts of days at its ends (a period
    need not start or end at midnight) are counted from the orders placed in them.
    """
    (first, after), part_days = _whole_and_part_days(start, end)
    counts = DailyOrderCount
    in_whole_days = (counts.day >= first, counts.day < after)
    for day, orders in await session.execute(
        select(counts.day, counts.orders).where(*in_whole_days, counts.dimension == "all")
    ):
        counted.by_day[day].orders += orders
    for dimension, value, orders in await session.execute(
        select(counts.dimension, counts.value, func.sum(counts.orders))
        .where(*in_whole_days, counts.dimension != "all")
        .group_by(counts.dimension, counts.value)
    ):
        counted.group(dimension, value).orders += orders
    for part_start, part_end in part_days:
        counted.add_orders(await _orders_placed_between(session, part_start, part_end))


def _whole_and_part_days(start: datetime, end: datetime) -> tuple[tuple[date, date], list[tuple[datetime, datetime]]]:
    """The whole days from ``start`` to ``end`` (the first, and the day after the last: equal when there is none),
    and the parts of days left at either end, each within one day."""
    after_start = datetime.combine(start.date(), time(), UTC)
    if after_start < start:
        after_start += timedelta(days=1)
    before_end = datetime.combine(end.date(), time(), UTC)
    if after_start > before_end:  # both ends within one day
        return (after_start.date(), after_start.date()), [(start, end)]
    parts = [(a, b) for a, b in ((start, after_start), (before_end, end)) if a < b]
    return (after_start.date(), before_end.date()), parts


async def _orders_placed_between(session: AsyncSession, start: datetime, end: datetime) -> Counter[OrderCountKey]:
    """The orders placed from ``start`` to ``end`` (part of a day), counted as ``daily_order_counts`` counts them."""
    placed_at_of: dict[str, datetime] = {}
    lines_of: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)
    for order_id, placed_at, sku, category in await session.execute(
        select(OrderRow.order_id, OrderRow.placed_at, OrderLineRow.sku, OrderLineRow.category)
        .outerjoin(OrderLineRow, OrderLineRow.order_id == OrderRow.order_id)
        .where(OrderRow.placed_at >= start, OrderRow.placed_at < end)
    ):
        placed_at_of[order_id] = placed_at
        if sku is not None:  # an order without lines still counts in all
            lines_of[order_id].append((sku, category))
    counted: Counter[OrderCountKey] = Counter()
    for order_id, placed_at in placed_at_of.items():
        counted.update(order_counted_under(placed_at, lines_of[order_id]))
    return counted
