"""``python -m bench dashboard``: how fast ``GET /v1/metrics/returns`` and the console's dashboard page answer over
a big shop's returns.

Seeds a migrated database straight through the store's tables (bulk inserts, no workflows) with
``--returns`` returns over the last ``--days`` days and their orders, then asks the real app over
HTTP for the metrics of the last 30 and 90 days, and for the dashboard page of the same periods,
several times each. See bench/README.md.
"""

import argparse
import asyncio
import math
import os
import random
import secrets
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
from sqlalchemy import func, insert, select
from temporalio.client import Client

from api.app import create_app
from bench.console import served_console
from bench.measure import measured, percentiles, progress_for, verdict, write_results
from domain.metrics import OrderCountKey, order_counted_under
from domain.returns import ReturnView
from returnflow.serve import serve_app
from returnflow.settings import Settings
from store.api_keys import create_api_key
from store.db import Database, redacted
from store.metrics import line_fact_rows, return_fact_columns
from store.migrate import upgrade_async
from store.returns import row_columns
from store.tables import DailyOrderCount, OrderLineRow, OrderRow, ReturnLineFact, ReturnRow, Ticket

RESULTS = Path(__file__).parent / "results" / "dashboard.json"
TARGET_MS = 1000.0
PERIODS_DAYS = (30, 90)
# Rows per INSERT batch and per transaction.
CHUNK = 5_000

# Why customers send things back, by category (relative weights): fit for clothes, faults for electronics.
REASONS_BY_CATEGORY: dict[str, dict[str, int]] = {
    "apparel": {"size_fit": 45, "changed_mind": 18, "quality_issue": 12, "not_as_described": 10, "defective": 8},
    "shoes": {"size_fit": 50, "changed_mind": 15, "quality_issue": 12, "damaged": 8, "defective": 8},
    "electronics": {"defective": 38, "not_as_described": 16, "damaged": 14, "changed_mind": 14, "better_price": 8},
    "home": {"damaged": 30, "not_as_described": 20, "changed_mind": 20, "defective": 15, "wrong_item": 8},
    "beauty": {"changed_mind": 30, "quality_issue": 25, "damaged": 20, "wrong_item": 15, "other": 10},
    "toys": {"defective": 30, "damaged": 25, "changed_mind": 20, "missing_item": 15, "other": 10},
    "sports": {"size_fit": 30, "defective": 25, "changed_mind": 20, "quality_issue": 15, "other": 10},
    "books": {"damaged": 40, "wrong_item": 25, "changed_mind": 25, "other": 10},
}
LINES_PER_ORDER = {1: 55, 2: 28, 3: 12, 4: 5}
LINES_PER_RETURN = {1: 75, 2: 20, 3: 5}  # at most the order's
OUTCOMES = {"auto_approved": 62, "approved": 25, "needs_review": 5, "rejected": 8}
DISPUTED_SHARE = 0.025  # of the completed returns
RETURN_AFTER_DAYS = (1, 21)  # a return is requested this many days after its order was placed


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench dashboard", description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=100_000, help="returns seeded (default 100,000)")
    parser.add_argument(
        "--orders-per-return", type=float, default=4.0, help="orders seeded per return (default 4: a 25%% return rate)"
    )
    parser.add_argument("--days", type=int, default=90, help="the returns are spread over the last DAYS days (90)")
    parser.add_argument("--skus", type=int, default=2_000, help="SKUs in the catalog (default 2,000)")
    parser.add_argument("--runs", type=int, default=5, help="timed requests per period (default 5)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the generated shop (default 1)")
    parser.add_argument(
        "--database-url",
        help="an empty database to migrate, seed and keep (e.g. postgresql+asyncpg://127.0.0.1:5432/bench_metrics); "
        "default: a SQLite file in a temporary folder, deleted afterwards",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    return parser.parse_args(argv)


progress = progress_for("bench dashboard")


# --- the shop ----------------------------------------------------------------------------------------


def _pick(rng: random.Random, weights: dict[Any, int]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


@dataclass
class ReturnedOrder:
    """What a return needs of its order, kept while the orders are written."""

    order_id: str
    customer_id: str
    requested_at: datetime
    lines: list[tuple[str, str, str]]  # (line id, SKU, category)


@dataclass
class Shop:
    """A generated shop: a catalog whose SKUs sell as a long tail, orders, and the returns of some of them."""

    args: argparse.Namespace
    now: datetime
    rng: random.Random = field(init=False)
    skus: list[tuple[str, str]] = field(init=False)  # (SKU, category)
    popularity: list[float] = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.args.seed)
        categories = list(REASONS_BY_CATEGORY)
        self.skus = [(f"SKU-{n:05d}", categories[n % len(categories)]) for n in range(self.args.skus)]
        self.popularity = [1 / (rank + 1) ** 0.8 for rank in range(len(self.skus))]

    @property
    def start(self) -> datetime:
        return self.now - timedelta(days=self.args.days)

    def orders(self) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]], ReturnedOrder | None]]:
        """Every order with its lines; the first ``--returns`` of them will be returned (and say when)."""
        total = round(self.args.returns * self.args.orders_per_return)
        earliest = self.start - timedelta(days=RETURN_AFTER_DAYS[1])
        for n in range(total):
            returned = n < self.args.returns
            if returned:
                requested_at = self.start + (self.now - self.start) * self.rng.random()
                placed_at = requested_at - timedelta(days=self.rng.uniform(*RETURN_AFTER_DAYS))
            else:
                placed_at = earliest + (self.now - earliest) * self.rng.random()
            order_id, customer_id = f"bench-{n:07d}", f"C-{self.rng.randrange(total // 3 or 1):07d}"
            picked = self.rng.choices(self.skus, weights=self.popularity, k=_pick(self.rng, LINES_PER_ORDER))
            lines = [(f"L{position + 1}", sku, category) for position, (sku, category) in enumerate(picked)]
            yield (
                _order_row(order_id, customer_id, placed_at, len(lines)),
                [_line_row(order_id, position, *line) for position, line in enumerate(lines)],
                ReturnedOrder(order_id, customer_id, requested_at, lines) if returned else None,
            )

    def return_of(self, number: int, order: ReturnedOrder) -> tuple[ReturnView, datetime | None]:
        """The return of ``order`` and, when the customer disputed it, when."""
        rng, created = self.rng, order.requested_at
        lines = rng.sample(order.lines, min(len(order.lines), _pick(rng, LINES_PER_RETURN)))
        outcome = _pick(rng, OUTCOMES)
        timeline = [("requested", created)]
        decided = created + timedelta(hours=rng.uniform(2, 48)) if outcome == "approved" else created
        if outcome == "rejected":
            timeline.append(("rejected", decided))
        elif outcome != "needs_review":
            timeline.append(("approved", decided))
            completed = decided + timedelta(hours=rng.lognormvariate(math.log(90), 0.5))
            if completed < self.now and rng.random() < 0.9:
                timeline.append(("completed", completed))
            else:
                timeline.append(("in_transit", min(decided + timedelta(hours=24), self.now)))
        status = "under_review" if outcome == "needs_review" else timeline[-1][0]
        view = ReturnView.model_validate(
            {
                "id": f"ret_bench_{number:07d}",
                "order_id": order.order_id,
                "customer_id": order.customer_id,
                "status": status,
                "policy_version": 1,
                "lines": [
                    {"line_id": line_id, "quantity": 1, "reason": _pick(rng, REASONS_BY_CATEGORY[category])}
                    | {"liability": "merchant", "unit_price": "24.90", "sku": sku}
                    for line_id, sku, category in lines
                ],
                "decision": {"outcome": outcome},
                "logistics": {"method": "mail", "carrier": "sandbox", "tracking_number": f"TRK{number:09d}"},
                "refund": {"amount": f"{24.90 * len(lines):.2f}", "currency": "USD"},
                "timeline": [{"status": step, "at": at.isoformat()} for step, at in timeline],
                "created_at": created.isoformat(),
                "updated_at": timeline[-1][1].isoformat(),
            }
        )
        if status != "completed" or rng.random() >= DISPUTED_SHARE:
            return view, None
        return view, min(timeline[-1][1] + timedelta(days=rng.uniform(1, 10)), self.now)


def _order_row(order_id: str, customer_id: str, placed_at: datetime, lines: int) -> dict[str, Any]:
    paid = {"payment_id": "p1", "method": "card", "amount": f"{24.90 * lines:.2f}", "provider_ref": "ch_bench"}
    return {
        "order_id": order_id,
        "customer_id": customer_id,
        "currency": "USD",
        "placed_at": placed_at,
        "fulfillment_status": "delivered",
        "delivered_at": placed_at + timedelta(days=1),
        "payments": [paid],
        "shipping_address": None,
        "shipping_minor": None,
        "shipping_tax_minor": None,
        "updated_at": placed_at,
    }


def _line_row(order_id: str, position: int, line_id: str, sku: str, category: str) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "line_id": line_id,
        "position": position,
        "sku": sku,
        "product_id": sku.rsplit("-", 1)[0],
        "title": sku,
        "category": category,
        "kind": "physical",
        "quantity": 1,
        "unit_price_minor": 2490,
        "final_sale": False,
        "tax_minor": 0,
        "claimed_quantity": 0,
    }


def _dispute_row(return_id: str, at: datetime) -> dict[str, Any]:
    return {
        "id": "tkt_" + secrets.token_hex(8),
        "dedupe_key": f"dispute:{return_id}",
        "kind": "dispute",
        "return_id": return_id,
        "status": "open",
        "summary": "the refund is short",
        "details": {},
        "created_at": at,
        "resolved_at": None,
        "resolution": None,
    }


# --- seeding --------------------------------------------------------------------------------------------


class Batches:
    """Rows collected per table and inserted ``CHUNK`` at a time, parents first."""

    def __init__(self, database: Database, *tables: Any):
        self.database = database
        self.rows: dict[Any, list[dict[str, Any]]] = {table: [] for table in tables}

    async def add(self, table: Any, rows: list[dict[str, Any]]) -> None:
        self.rows[table] += rows
        if len(self.rows[table]) >= CHUNK:
            await self.flush()

    async def flush(self) -> None:
        async with self.database.transaction() as session:
            for table, rows in self.rows.items():
                for start in range(0, len(rows), CHUNK):
                    await session.execute(insert(table), rows[start : start + CHUNK])
                rows.clear()


async def seed(database: Database, shop: Shop) -> dict[str, int]:
    """Orders, their daily counts, returns with their line facts, disputes: as the store's writers would leave them."""
    batches = Batches(database, OrderRow, OrderLineRow, ReturnRow, ReturnLineFact, Ticket)
    counted: Counter[OrderCountKey] = Counter()
    returned: list[ReturnedOrder] = []
    orders = lines = disputes = 0
    for order_row, order_lines, returned_order in shop.orders():
        counted.update(order_counted_under(order_row["placed_at"], [(ln["sku"], ln["category"]) for ln in order_lines]))
        await batches.add(OrderRow, [order_row])
        await batches.add(OrderLineRow, order_lines)
        orders, lines = orders + 1, lines + len(order_lines)
        if returned_order:
            returned.append(returned_order)
        if orders % 100_000 == 0:
            progress(f"  {orders} orders")
    await batches.flush()
    for number, order in enumerate(returned):
        view, disputed_at = shop.return_of(number, order)
        ordered = {line_id: (sku, category) for line_id, sku, category in order.lines}
        await batches.add(ReturnRow, [{"id": view.id, **row_columns(view, 1), **return_fact_columns(view)}])
        await batches.add(ReturnLineFact, line_fact_rows(view, ordered))
        if disputed_at:
            await batches.add(Ticket, [_dispute_row(view.id, disputed_at)])
            disputes += 1
        if (number + 1) % 25_000 == 0:
            progress(f"  {number + 1} returns")
    await batches.flush()
    async with database.transaction() as session:
        count_rows = [
            {"day": day, "dimension": dimension, "value": value, "orders": orders_counted}
            for (day, dimension, value), orders_counted in counted.items()
        ]
        for start in range(0, len(count_rows), CHUNK):
            await session.execute(insert(DailyOrderCount), count_rows[start : start + CHUNK])
    return {"orders": orders, "order_lines": lines, "returns": len(returned), "disputes": disputes}


async def settle(database: Database) -> None:
    """On PostgreSQL, what autovacuum does soon after a bulk load: statistics, and the visibility map that lets
    the covering indexes answer alone. SQLite keeps neither unless asked, and the app never asks."""
    if database.is_sqlite:
        return
    progress("VACUUM ANALYZE (as autovacuum would after a bulk load)")
    async with database.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.exec_driver_sql("VACUUM ANALYZE")


# --- timing ---------------------------------------------------------------------------------------------


@asynccontextmanager
async def metrics_api(database: Database, workdir: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The real app on real HTTP, with an operator key; no Temporal (the metrics never ask it)."""
    async with database.transaction() as session:
        _, operator_key = await create_api_key(session, "operator", "bench dashboard")
    settings = Settings(database_url=database.url, data_dir=workdir, log_level="WARNING")
    app = create_app(settings, temporal=cast(Client, object()), database=database)
    async with (
        serve_app(app) as api_url,
        httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {operator_key}"}, timeout=60) as api,
    ):
        yield api


async def time_period(api: httpx.AsyncClient, now: datetime, days: int, runs: int) -> dict[str, Any]:
    """``runs`` requests for the last ``days`` days, each timed from sending to the last byte of the answer."""
    params = {"from": (now - timedelta(days=days)).isoformat(), "to": now.isoformat()}
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = await api.get("/v1/metrics/returns", params=params)
        timings.append(time.perf_counter() - started)
        response.raise_for_status()
    body = response.json()
    return {
        "days": days,
        "runs_ms": [round(seconds * 1000, 1) for seconds in timings],
        "latency_ms": percentiles(timings),
        "returns": body["returns"],
        "orders": body["orders"],
        "skus": len(body["by_sku"]),
        "answer_kb": round(len(response.content) / 1024, 1),
    }


async def time_dashboard_page(browser: httpx.AsyncClient, days: int, runs: int) -> dict[str, Any]:
    """``runs`` loads of ``/console/dashboard`` for the last ``days`` days (the same metrics call, then the page
    rendered), timed as the API's requests are."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = await browser.get("/console/dashboard", params={"days": days})
        timings.append(time.perf_counter() - started)
        response.raise_for_status()
    return {
        "days": days,
        "runs_ms": [round(seconds * 1000, 1) for seconds in timings],
        "latency_ms": percentiles(timings),
        "page_kb": round(len(response.content) / 1024, 1),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    began = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory(prefix="returnflow-bench-dashboard-") as folder:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(folder) / 'returnflow.db'}"
        await upgrade_async(url)
        database = Database(url)
        try:
            async with database.sessions() as session:
                if await session.scalar(select(func.count()).select_from(ReturnRow)):
                    raise SystemExit(f"bench dashboard: {redacted(url)} already holds returns; give it an empty one")
            progress(f"seeding {args.returns} returns into {redacted(url)}")
            seeded, seeding = await measured(seed(database, Shop(args, now)))
            progress(f"seeded in {seeding.wall_s:.0f} s")
            await settle(database)
            progress("timing GET /v1/metrics/returns")
            async with metrics_api(database, Path(folder)) as api:
                periods = [await time_period(api, now, days, args.runs) for days in PERIODS_DAYS]
            progress("timing the console's /console/dashboard")
            async with served_console(database, Path(folder)) as browser:
                pages = [await time_dashboard_page(browser, days, args.runs) for days in PERIODS_DAYS]
        finally:
            await database.dispose()
    return {
        "when": now.isoformat(),
        "settings": {
            "returns": args.returns,
            "orders_per_return": args.orders_per_return,
            "days": args.days,
            "skus": args.skus,
            "runs": args.runs,
            "database": "postgresql" if url.startswith("postgresql") else "sqlite",
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        },
        "seeded": {**seeded, "seconds": round(seeding.wall_s, 1)},
        "periods": periods,
        "dashboard_pages": pages,
        "target_ms": TARGET_MS,
        "runtime_s": round(time.perf_counter() - began, 1),
    }


def print_table(results: dict[str, Any]) -> None:
    s, seeded = results["settings"], results["seeded"]
    print(
        f"\nreturnflow bench dashboard: {seeded['returns']} returns and {seeded['orders']} orders over {s['days']} "
        f"days, {s['skus']} SKUs, {s['database']}, {s['cpus']} CPUs, load {s['load_average_1m']}"
    )
    print(f"  seeded in {seeded['seconds']:.0f} s ({seeded['order_lines']} order lines, {seeded['disputes']} disputes)")
    for period in results["periods"]:
        latency, runs = period["latency_ms"], ", ".join(f"{ms:.0f}" for ms in period["runs_ms"])
        print(
            f"  last {period['days']:>2} days  max {latency['max']:>6.0f} ms  p50 {latency['p50']:>6.0f} ms  "
            f"target max ≤ {results['target_ms']:.0f} ms  {verdict(latency['max'] <= results['target_ms'])}   "
            f"({period['returns']} returns, {period['orders']} orders, {period['skus']} SKUs, "
            f"{period['answer_kb']} KB; runs: {runs} ms)"
        )
    for page in results["dashboard_pages"]:
        latency, runs = page["latency_ms"], ", ".join(f"{ms:.0f}" for ms in page["runs_ms"])
        print(
            f"  page {page['days']:>2} days  max {latency['max']:>6.0f} ms  p50 {latency['p50']:>6.0f} ms  "
            f"target max ≤ {results['target_ms']:.0f} ms  {verdict(latency['max'] <= results['target_ms'])}   "
            f"(/console/dashboard?days={page['days']}, {page['page_kb']} KB; runs: {runs} ms)"
        )
    print(f"  runtime {results['runtime_s']:.0f} s")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    results = asyncio.run(run(args))
    print_table(results)
    write_results(args.output, results)
    timed = results["periods"] + results["dashboard_pages"]
    return 0 if all(timed_one["latency_ms"]["max"] <= TARGET_MS for timed_one in timed) else 1
