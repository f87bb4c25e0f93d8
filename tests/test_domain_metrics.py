"""The metrics' rules: what counts as auto-approved, what a refund time is, how percentiles and periods are read."""

from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from domain.metrics import (
    MAX_PERIOD,
    InvalidPeriod,
    LineFact,
    Tally,
    check_period,
    days_of,
    is_auto_approved,
    line_facts,
    order_counted_under,
    percentile,
    refund_hours,
    return_metrics,
)
from domain.returns import ReturnView

REQUESTED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _view(
    outcome: str = "auto_approved", timeline: list[tuple[str, datetime]] | None = None, **reasons: str
) -> ReturnView:
    return ReturnView.model_validate(
        {
            "id": "r1",
            "order_id": "O1",
            "customer_id": "C",
            "status": "requested",
            "policy_version": 1,
            "lines": [
                {"line_id": line_id, "quantity": 1, "reason": reason, "liability": "merchant", "unit_price": "1"}
                for line_id, reason in (reasons or {"L1": "defective"}).items()
            ],
            "decision": {"outcome": outcome},
            "logistics": {"method": "mail"},
            "refund": {"amount": "1", "currency": "USD"},
            "timeline": [{"status": status, "at": at.isoformat()} for status, at in timeline or []],
            "created_at": REQUESTED.isoformat(),
            "updated_at": REQUESTED.isoformat(),
        }
    )


def test_only_the_policy_approving_alone_is_auto_approval() -> None:
    assert is_auto_approved(_view("auto_approved"))
    assert not any(is_auto_approved(_view(outcome)) for outcome in ("approved", "needs_review", "rejected"))


def test_time_to_refund_runs_from_the_request_to_the_first_completion() -> None:
    completed = REQUESTED + timedelta(hours=30, minutes=30)
    timeline = [("requested", REQUESTED), ("approved", REQUESTED + timedelta(hours=1)), ("completed", completed)]

    assert refund_hours(_view(timeline=timeline)) == 30.5
    assert refund_hours(_view(timeline=timeline[:2])) is None


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([50.0, 10.0, 30.0, 40.0], 0.5) == 30.0  # rank ceil(0.5 × 4) = 2
    assert percentile([50.0, 10.0, 30.0, 40.0], 0.9) == 50.0
    assert percentile([7.123], 0.9) == 7.12
    assert percentile([], 0.5) is None


def test_a_return_counts_once_per_sku_and_category_however_many_lines_it_has() -> None:
    view = _view(L1="defective", L2="size_fit", L3="size_fit", L4="other")
    ordered = {"L1": ("TEE-M", "apparel"), "L2": ("TEE-L", "apparel"), "L3": ("TEE-M", "apparel")}

    assert line_facts(view, ordered) == [
        LineFact("L1", "TEE-M", "apparel", "defective", first_for_sku=True, first_for_category=True),
        LineFact("L2", "TEE-L", "apparel", "size_fit", first_for_sku=True, first_for_category=False),
        LineFact("L3", "TEE-M", "apparel", "size_fit", first_for_sku=False, first_for_category=False),
        # Not in the order's lines: the return's own SKU (none here), no category.
        LineFact("L4", "", "", "other", first_for_sku=True, first_for_category=True),
    ]


def test_an_order_counts_once_on_its_day_in_all_per_category_and_per_sku() -> None:
    placed = datetime(2026, 3, 1, 19, 30, tzinfo=timezone(timedelta(hours=-5)))  # 00:30 UTC on 2 March
    lines = [("TEE-M", "apparel"), ("TEE-L", "apparel"), ("TEE-M", "apparel")]

    assert order_counted_under(placed, lines) == {
        (date(2026, 3, 2), "all", ""),
        (date(2026, 3, 2), "category", "apparel"),
        (date(2026, 3, 2), "sku", "TEE-M"),
        (date(2026, 3, 2), "sku", "TEE-L"),
    }


def test_a_period_runs_forwards_for_at_most_a_year() -> None:
    check_period(REQUESTED, REQUESTED + MAX_PERIOD)
    with pytest.raises(InvalidPeriod) as backwards:
        check_period(REQUESTED, REQUESTED)
    with pytest.raises(InvalidPeriod) as too_long:
        check_period(REQUESTED, REQUESTED + MAX_PERIOD + timedelta(seconds=1))

    assert (backwards.value.field, backwards.value.code) == ("from", "invalid_range")
    assert (too_long.value.field, too_long.value.code) == ("to", "period_too_long")


def test_the_days_of_a_period_are_its_utc_calendar_days_end_excluded() -> None:
    midnight = datetime(2026, 3, 1, tzinfo=UTC)

    assert days_of(midnight, midnight + timedelta(days=2)) == [date(2026, 3, 1), date(2026, 3, 2)]
    assert days_of(midnight + timedelta(hours=23), midnight + timedelta(days=1, minutes=1)) == [
        date(2026, 3, 1),
        date(2026, 3, 2),
    ]
    assert days_of(midnight + timedelta(hours=1), midnight + timedelta(hours=2)) == [date(2026, 3, 1)]


def test_the_period_adds_up_its_days_and_categories_and_lists_every_day() -> None:
    first, third = date(2026, 3, 1), date(2026, 3, 3)
    by_day = {
        first: Tally(orders=4, returns=2, auto_approved=1, disputed=1, refund_hours=[10.0, 20.0]),
        third: Tally(orders=4, returns=1, auto_approved=1, refund_hours=[40.0]),
    }
    by_category = {
        "": Tally(orders=2, returns=1, reasons=Counter(other=1)),
        "apparel": Tally(orders=6, returns=2, auto_approved=2, reasons=Counter(size_fit=2, defective=2)),
        "home": Tally(orders=3),  # ordered, never returned: not listed
    }
    by_sku = {"TEE": Tally(orders=5, returns=2, refund_hours=[10.0, 40.0], reasons=Counter(size_fit=2))}

    metrics = return_metrics(
        by_day, by_category, by_sku, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC)
    )

    assert (metrics.orders, metrics.returns, metrics.return_rate) == (8, 3, 0.375)
    assert (metrics.auto_approval_rate, metrics.dispute_rate) == (0.6667, 0.3333)
    assert (metrics.refund_hours_p50, metrics.refund_hours_p90) == (20.0, 40.0)
    assert list(metrics.reasons.items()) == [("defective", 2), ("size_fit", 2), ("other", 1)]
    assert list(metrics.by_category) == ["uncategorized", "apparel"]
    assert metrics.by_sku["TEE"].return_rate == 0.4 and metrics.by_sku["TEE"].refund_hours_p90 == 40.0
    assert [(day.date, day.returns, day.orders, day.refunds_completed) for day in metrics.daily] == [
        (first, 2, 4, 2),
        (date(2026, 3, 2), 0, 0, 0),
        (third, 1, 4, 1),
    ]
    assert metrics.daily[1].return_rate is None and metrics.daily[0].refund_hours_p50 == 10.0
