"""Return metrics: what a merchant's dashboard shows."""

import asyncio
import secrets
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command

from domain.metrics import ReturnMetrics
from domain.orders import OrderIn
from domain.returns import ReturnView
from store.db import Database
from store.metrics import return_metrics
from store.migrate import alembic_config
from store.orders import upsert_order
from store.returns import save_return
from store.tickets import open_ticket
from tests.api_client import Callers, carrier, put_order, wait_for_status
from tests.conftest import fresh_postgres_database
from tests.factories import NOW, order_body, return_body

# Each test counts in a period of its own, years before anything the other tests store in the shared database.
PERIOD_OF_RATES = datetime(2011, 3, 1, tzinfo=UTC)
PERIOD_OF_SKUS = datetime(2012, 5, 1, tzinfo=UTC)
PERIOD_OF_PART_DAYS = datetime(2013, 7, 1, tzinfo=UTC)
PERIOD_OF_MOVED_ORDER = datetime(2014, 9, 1, tzinfo=UTC)


def _order(placed_at: datetime, *lines: tuple[str, str]) -> OrderIn:
    """An order with one unit of each (SKU, category) line, lines L1, L2, …"""
    return OrderIn.model_validate(
        order_body(
            placed_at=placed_at.isoformat(),
            delivered_at=placed_at.isoformat(),
            lines=[
                {"line_id": f"L{n}", "sku": sku, "category": category, "kind": "physical", "quantity": 1}
                | {"unit_price": "10.00"}
                for n, (sku, category) in enumerate(lines, start=1)
            ],
            payments=[{"payment_id": "p1", "method": "card", "amount": f"{10 * len(lines)}.00", "provider_ref": "c"}],
        )
    )


def _view(
    return_id: str,
    order_id: str,
    created_at: datetime,
    outcome: str,
    completed_after_hours: float | None,
    lines: dict[str, str],
) -> ReturnView:
    """A return of ``lines`` (line id → reason), completed ``completed_after_hours`` after it was requested."""
    timeline = [{"status": "requested", "at": created_at.isoformat()}]
    if completed_after_hours is not None:
        completed_at = created_at + timedelta(hours=completed_after_hours)
        timeline.append({"status": "completed", "at": completed_at.isoformat()})
    return ReturnView.model_validate(
        {
            "id": return_id,
            "order_id": order_id,
            "customer_id": "C",
            "status": "completed" if completed_after_hours is not None else "awaiting_shipment",
            "policy_version": 1,
            "lines": [
                {"line_id": line_id, "quantity": 1, "reason": reason, "liability": "merchant", "unit_price": "10"}
                for line_id, reason in lines.items()
            ],
            "decision": {"outcome": outcome},
            "logistics": {"method": "mail"},
            "refund": {"amount": "10", "currency": "USD"},
            "timeline": timeline,
            "created_at": created_at.isoformat(),
            "updated_at": created_at.isoformat(),
        }
    )


class Shop:
    """Orders and returns written as the API and the workflows write them; ids unique to the test."""

    def __init__(self, database: Database):
        self.database = database
        self.prefix = secrets.token_hex(4)

    async def order(self, name: str, placed_at: datetime, *lines: tuple[str, str]) -> str:
        order_id = f"{self.prefix}-{name}"
        async with self.database.transaction() as session:
            await upsert_order(session, order_id, _order(placed_at, *lines))
        return order_id

    async def returned(
        self,
        name: str,
        order_id: str,
        created_at: datetime,
        outcome: str,
        completed_after_hours: float | None,
        disputed: bool = False,
        **lines: str,
    ) -> None:
        view = _view(f"{self.prefix}-{name}", order_id, created_at, outcome, completed_after_hours, lines)
        async with self.database.transaction() as session:
            await save_return(session, view, revision=1)
            if disputed:
                await open_ticket(session, kind="dispute", return_id=view.id, summary="not what I was promised")

    async def metrics(self, start: datetime, end: datetime) -> ReturnMetrics:
        async with self.database.transaction(begin="deferred") as session:
            return await return_metrics(session, start, end)


async def test_rates_percentiles_and_categories(database: Database) -> None:
    shop, start = Shop(database), PERIOD_OF_RATES
    orders = [await shop.order(f"O{n}", start + timedelta(hours=n), ("TEE", "apparel")) for n in range(8)]
    await shop.returned("r1", orders[0], start + timedelta(days=1), "auto_approved", 10, L1="defective")
    await shop.returned("r2", orders[1], start + timedelta(days=1), "auto_approved", 30, L1="size_fit")
    await shop.returned("r3", orders[2], start + timedelta(days=1), "approved", 50, L1="defective", disputed=True)
    await shop.returned("r4", orders[3], start + timedelta(days=1), "auto_approved", None, L1="defective")

    metrics = await shop.metrics(start, start + timedelta(days=7))

    assert metrics.return_rate == 0.5 and metrics.auto_approval_rate == 0.75 and metrics.dispute_rate == 0.25
    assert (metrics.refund_hours_p50, metrics.refund_hours_p90) == (30.0, 50.0)
    assert metrics.reasons == {"defective": 3, "size_fit": 1}
    assert metrics.by_category["apparel"].returns == 4


async def test_by_sku_and_day_over_http(api: Callers, database: Database) -> None:
    shop, start = Shop(database), PERIOD_OF_SKUS
    first_day, third_day = start + timedelta(hours=9), start + timedelta(days=2, hours=9)
    both = await shop.order("O1", first_day, ("A", "apparel"), ("B", "apparel"))
    await shop.order("O2", first_day, ("A", "apparel"))
    home = await shop.order("O3", third_day, ("C", "home"))
    await shop.order("O4", third_day, ("B", "apparel"))
    await shop.returned("R1", both, first_day + timedelta(hours=1), "auto_approved", 10, L1="defective", L2="size_fit")
    await shop.returned("R2", home, third_day + timedelta(hours=1), "approved", 30, L1="damaged", disputed=True)

    response = await api.operator.get(
        "/v1/metrics/returns", params={"from": start.isoformat(), "to": (start + timedelta(days=3)).isoformat()}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["returns"], body["orders"], body["return_rate"], body["dispute_rate"]) == (2, 4, 0.5, 0.5)
    assert (body["refund_hours_p50"], body["refund_hours_p90"]) == (10.0, 30.0)
    # R1 returns two SKUs: it counts for each, and once for their one category.
    assert {sku: (r["returns"], r["return_rate"], r["reasons"]) for sku, r in body["by_sku"].items()} == {
        "A": (1, 0.5, {"defective": 1}),  # ordered in O1 and O2
        "B": (1, 0.5, {"size_fit": 1}),  # ordered in O1 and O4
        "C": (1, 1.0, {"damaged": 1}),
    }
    assert body["by_sku"]["C"]["dispute_rate"] == 1.0 and body["by_sku"]["A"]["refund_hours_p50"] == 10.0
    assert body["by_category"]["apparel"]["returns"] == 1 and body["by_category"]["apparel"]["return_rate"] == 0.3333
    assert body["by_category"]["apparel"]["reasons"] == {"defective": 1, "size_fit": 1}
    fields = ("date", "returns", "orders", "return_rate", "auto_approval_rate", "refunds_completed", "refund_hours_p50")
    assert [tuple(day[name] for name in fields) for day in body["daily"]] == [
        ("2012-05-01", 1, 2, 0.5, 1.0, 1, 10.0),
        ("2012-05-02", 0, 0, None, None, 0, None),
        ("2012-05-03", 1, 2, 0.5, 0.0, 1, 30.0),
    ]


async def test_a_period_counts_from_its_first_moment_to_its_last(database: Database) -> None:
    """Orders are counted per day ahead; a period that starts or ends within a day counts that part of it."""
    shop, midnight = Shop(database), PERIOD_OF_PART_DAYS
    for hours in (3, 9, 15, 27, 33, 45, 51, 57):  # 3 orders on the first day, 3 on the second, 2 on the third
        await shop.order(f"O{hours}", midnight + timedelta(hours=hours), (f"S{hours % 2}", "toys"))
    await shop.returned("R5", f"{shop.prefix}-O3", midnight + timedelta(hours=5), "auto_approved", None, L1="other")
    await shop.returned("R7", f"{shop.prefix}-O9", midnight + timedelta(hours=7), "auto_approved", None, L1="other")

    async def counted(start_hours: int, end_hours: int, zone: timezone = UTC) -> tuple[int, list[int], int]:
        start, end = (midnight + timedelta(hours=hours) for hours in (start_hours, end_hours))
        metrics = await shop.metrics(start.astimezone(zone), end.astimezone(zone))
        return metrics.orders, [day.orders for day in metrics.daily], metrics.returns

    assert await counted(0, 72) == (8, [3, 3, 2], 2)  # whole days
    assert await counted(6, 54) == (6, [2, 3, 1], 1)  # a part of the first and of the last day
    assert await counted(6, 54, timezone(timedelta(hours=-4))) == (6, [2, 3, 1], 1)  # the same moments elsewhere
    assert await counted(10, 14) == (0, [0], 0)  # within one day
    assert await counted(9, 16) == (2, [2], 0)
    assert await counted(24, 34) == (2, [2], 0)  # from midnight into the day
    assert await counted(20, 24) == (0, [0], 0)  # up to midnight, not including it


async def test_an_order_placed_again_on_another_day_moves_its_count(database: Database) -> None:
    shop, start = Shop(database), PERIOD_OF_MOVED_ORDER
    order_id = await shop.order("O1", start + timedelta(hours=1), ("OLD", "garden"))
    async with database.transaction() as session:
        await upsert_order(session, order_id, _order(start + timedelta(days=1, hours=1), ("NEW", "garden")))
    await shop.returned("R1", order_id, start + timedelta(days=2), "auto_approved", None, L1="defective")

    metrics = await shop.metrics(start, start + timedelta(days=3))

    assert [day.orders for day in metrics.daily] == [0, 1, 0]
    assert list(metrics.by_sku) == ["NEW"] and metrics.by_sku["NEW"].return_rate == 1.0


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_the_migration_fills_the_facts_the_read_model_writes(backend: str, tmp_path: Path) -> None:
    """Undoing migration 0011 and applying it again (its backfill) gives the same figures as the writes did."""
    async with AsyncExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path / 'metrics.db'}"
        else:
            url = await stack.enter_async_context(fresh_postgres_database())
        config = alembic_config(url)
        await asyncio.to_thread(command.upgrade, config, "head")
        database = Database(url)
        stack.push_async_callback(database.dispose)
        shop, start = Shop(database), PERIOD_OF_RATES
        two = await shop.order("O1", start + timedelta(hours=20), ("A", "apparel"), ("B", ""))
        one = await shop.order("O2", start + timedelta(days=1), ("A", "apparel"))
        await shop.returned("R1", two, start + timedelta(days=1), "auto_approved", 12.5, L1="defective", L2="other")
        await shop.returned("R2", one, start + timedelta(days=2), "needs_review", None, L1="size_fit", disputed=True)
        written = await shop.metrics(start, start + timedelta(days=3, hours=12))

        await asyncio.to_thread(command.downgrade, config, "0010_console")
        await asyncio.to_thread(command.upgrade, config, "head")

        assert await shop.metrics(start, start + timedelta(days=3, hours=12)) == written
        assert written.by_sku["B"].returns == 1 and "uncategorized" in written.by_category


async def test_metrics_over_http(api: Callers) -> None:
    order_id = await put_order(api)
    created = (await api.service.post("/v1/returns", json=return_body(order_id=order_id))).json()
    shipped = await wait_for_status(api, created["id"], "awaiting_shipment")
    await carrier(api, shipped["logistics"]["tracking_number"], "picked_up")

    response = await api.operator.get(
        "/v1/metrics/returns",
        params={"from": (NOW - timedelta(minutes=5)).isoformat(), "to": (NOW + timedelta(hours=1)).isoformat()},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["returns"] >= 1 and body["reasons"].get("defective", 0) >= 1
    assert "apparel" in body["by_category"]
    assert body["by_sku"]["TEE-RED-M"]["returns"] >= 1
    bad = await api.operator.get("/v1/metrics/returns", params={"from": NOW.isoformat(), "to": NOW.isoformat()})
    assert bad.status_code == 422


async def test_a_period_backwards_or_too_long_is_refused(api: Callers) -> None:
    async def problem(start: datetime, end: datetime) -> tuple[int, list[dict[str, str]]]:
        answer = await api.operator.get(
            "/v1/metrics/returns", params={"from": start.isoformat(), "to": end.isoformat()}
        )
        assert answer.headers["content-type"] == "application/problem+json"
        return answer.status_code, [{key: e[key] for key in ("field", "code")} for e in answer.json()["errors"]]

    assert await problem(NOW, NOW - timedelta(days=1)) == (422, [{"field": "from", "code": "invalid_range"}])
    assert await problem(NOW - timedelta(days=367), NOW) == (422, [{"field": "to", "code": "period_too_long"}])
