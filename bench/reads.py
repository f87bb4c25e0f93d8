"""``python -m bench reads``: how fast ``GET /v1/returns`` with filters answers over a million returns on PostgreSQL.

Seeds a migrated PostgreSQL database with ``--returns`` returns through ``COPY`` (no workflows, no
orders: the list reads the ``returns`` table alone), runs ``VACUUM ANALYZE``, then asks the real app
over HTTP for each filter a storefront or an operator uses, ``--requests`` times, and prints each
one's p50/p99 against the target with the plan PostgreSQL chose (``EXPLAIN ANALYZE``). See
bench/README.md.
"""

import argparse
import asyncio
import json
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql
from temporalio.client import Client

from api.app import create_app
from bench.console_seed import generated_shops
from bench.databases import create_database_if_missing
from bench.measure import measured, percentiles, progress_for, verdict, write_results
from returnflow.serve import serve_app
from returnflow.settings import Settings
from store.api_keys import create_api_key
from store.db import Database, redacted
from store.migrate import upgrade_async
from store.returns import ReturnFilter, returns_query, row_columns
from store.tables import ReturnRow

RESULTS = Path(__file__).parent / "results" / "reads.json"
TARGET_P99_MS = 50.0
# Distinct return documents drawn from the console's shop; the million rows are these with their own ids,
# orders, customers and times (the list filters on the columns, and the page size is what it costs to read).
TEMPLATES = 2_000
CUSTOMERS = 100_000
DAYS = 365
COPY_BATCH = 20_000
COLUMNS = (
    "id",
    "order_id",
    "customer_id",
    "status",
    "tracking_number",
    "priority",
    "attention_reason",
    "status_since",
    "auto_approved",
    "refund_hours",
    "document",
    "revision",
    "created_at",
    "updated_at",
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench reads", description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=1_000_000, help="returns seeded (default 1,000,000)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per filter (default 200)")
    parser.add_argument(
        "--database-url",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/bench_reads",
        help="the PostgreSQL database to seed (created when missing; seeded once, reused while it holds "
        "--returns returns; default %(default)s)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    return parser.parse_args(argv)


progress = progress_for("bench reads")


# --- seeding --------------------------------------------------------------------------------------------


def rows(count: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    """``count`` rows of ``returns`` in COLUMNS order: the templates' documents under new ids and times."""
    rng = random.Random(7)
    templates = [shop.view for shop in generated_shops(rng, TEMPLATES, now, first=0)]
    for number in range(count):
        view = templates[number % TEMPLATES]
        columns = row_columns(view, 1)
        created = now - timedelta(seconds=rng.uniform(0, DAYS * 86400))
        moved = created - view.created_at
        return_id, order_id = f"ret_{number:020x}", f"RO-{number:08d}"
        customer_id = f"RC-{rng.randrange(CUSTOMERS):06d}"
        document = {**columns["document"], "id": return_id, "order_id": order_id, "customer_id": customer_id}
        document["created_at"], document["updated_at"] = created.isoformat(), (view.updated_at + moved).isoformat()
        since = columns["status_since"]
        yield (
            return_id,
            order_id,
            customer_id,
            columns["status"],
            f"RT{number:010d}" if columns["tracking_number"] else None,
            columns["priority"],
            columns["attention_reason"],
            since + moved if since else None,
            False,
            None,
            json.dumps(document),
            1,
            created,
            view.updated_at + moved,
        )


async def seed(database: Database, count: int, now: datetime) -> int:
    """Top the table up to ``count`` returns with COPY; returns how many it wrote."""
    async with database.sessions() as session:
        held = await session.scalar(select(func.count()).select_from(ReturnRow)) or 0
    if held >= count:
        return 0
    if held:
        raise SystemExit(f"bench reads: {redacted(database.url)} holds {held} returns, not {count}: use an empty one")
    batch: list[tuple[Any, ...]] = []
    written = 0
    async with database.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = cast(Any, raw.driver_connection)
        for row in rows(count, now):
            batch.append(row)
            if len(batch) == COPY_BATCH:
                await driver.copy_records_to_table("returns", records=batch, columns=COLUMNS)
                written += len(batch)
                batch.clear()
                if written % 100_000 == 0:
                    progress(f"  {written} returns")
        if batch:
            await driver.copy_records_to_table("returns", records=batch, columns=COLUMNS)
            written += len(batch)
    async with database.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.exec_driver_sql("VACUUM ANALYZE returns")
    return written


# --- the filters ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    name: str
    params: dict[str, str]

    @property
    def where(self) -> ReturnFilter:
        """The same filter as the store takes it."""
        dates = {key: datetime.fromisoformat(value) for key, value in self.params.items() if key.startswith("created")}
        return ReturnFilter(**{**self.params, **dates})  # type: ignore[arg-type]


def filters(now: datetime, customer: str, order: str) -> list[Filter]:
    """What storefronts and operators ask, for ``customer`` and ``order`` (two that are in the store)."""
    week_ago, two_weeks_ago = (now - timedelta(days=7)).isoformat(), (now - timedelta(days=14)).isoformat()
    half_a_year_ago = (now - timedelta(days=180)).isoformat()
    return [
        Filter("newest", {}),
        Filter("status: completed", {"status": "completed"}),
        Filter("status: under_review", {"status": "under_review"}),
        Filter("customer", {"customer_id": customer}),
        Filter("order", {"order_id": order}),
        Filter("date range (7 days, a week ago)", {"created_from": two_weeks_ago, "created_to": week_ago}),
        Filter("status + date range", {"status": "in_transit", "created_from": two_weeks_ago, "created_to": week_ago}),
        Filter("customer + date range", {"customer_id": customer, "created_from": half_a_year_ago}),
    ]


async def time_filter(api: httpx.AsyncClient, where: Filter, requests: int) -> dict[str, Any]:
    """``requests`` GETs one after the other (after three not counted), each timed from send to the whole body."""
    for _ in range(3):
        await api.get("/v1/returns", params=where.params)
    durations, statuses, items = [], set(), 0
    for _ in range(requests):
        started = time.perf_counter()
        answer = await api.get("/v1/returns", params=where.params)
        durations.append(time.perf_counter() - started)
        statuses.add(answer.status_code)
        items = len(answer.json().get("items", []))
    figures = percentiles(durations)
    ok = statuses == {200} and figures["p99"] <= TARGET_P99_MS
    return {"filter": where.name, "params": where.params, "items": items, "ms": figures, "verdict": verdict(ok)}


async def explain(database: Database, where: ReturnFilter, limit: int = 20) -> list[str]:
    """The plan PostgreSQL runs for the list's query, with real times (EXPLAIN ANALYZE)."""
    compiled = returns_query(where, cursor=None).limit(limit + 1).compile(dialect=postgresql.asyncpg.dialect())
    parameters = [compiled.params[name] for name in compiled.positiontup or []]
    async with database.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        plan = await cast(Any, raw.driver_connection).fetch("EXPLAIN (ANALYZE, BUFFERS) " + str(compiled), *parameters)
    return [record[0] for record in plan]


# --- the run ----------------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> dict[str, Any]:
    began = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    await create_database_if_missing(args.database_url)
    await upgrade_async(args.database_url)
    database = Database(args.database_url)
    try:
        progress(f"seeding {args.returns} returns into {redacted(args.database_url)} (once; reused after)")
        written, seeding = await measured(seed(database, args.returns, now))
        progress(f"seeded {written} in {seeding.wall_s:.0f} s" if written else "already seeded")
        async with database.transaction() as session:
            _, service_key = await create_api_key(session, "service", "bench reads")
        settings = Settings(database_url=database.url, log_level="WARNING")
        app = create_app(settings, temporal=cast(Client, object()), database=database)
        async with database.sessions() as session:
            newest = (await session.execute(returns_query(ReturnFilter(), None).limit(1))).scalar_one()
        chosen = filters(now, newest.customer_id, newest.order_id)
        async with (
            serve_app(app) as url,
            httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {service_key}"}, timeout=60) as api,
        ):
            timed = []
            for where in chosen:
                progress(f"timing {where.name}")
                figures = await time_filter(api, where, args.requests)
                timed.append({**figures, "plan": await explain(database, where.where)})
    finally:
        await database.dispose()
    return {
        "when": now.isoformat(),
        "settings": {
            "returns": args.returns,
            "requests": args.requests,
            "database": redacted(args.database_url),
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
        "seeded": {"written": written, "seconds": round(seeding.wall_s, 1)},
        "filters": timed,
        "target_p99_ms": TARGET_P99_MS,
        "runtime_s": round(time.perf_counter() - began, 1),
    }


def print_table(results: dict[str, Any]) -> None:
    s = results["settings"]
    print(
        f"\nreturnflow bench reads: GET /v1/returns over {s['returns']} returns, PostgreSQL, {s['requests']} requests "
        f"a filter, {s['cpus']} CPUs, load {s['load_average_1m']}"
    )
    for timed in results["filters"]:
        ms = timed["ms"]
        print(
            f"  {timed['filter']:<32} p50 {ms['p50']:>6.1f} ms  p99 {ms['p99']:>6.1f} ms  "
            f"target p99 ≤ {results['target_p99_ms']:.0f} ms  {timed['verdict']}   ({timed['items']} items)"
        )
    print("\n  plans (EXPLAIN ANALYZE of the list's query):")
    for timed in results["filters"]:
        print(f"  -- {timed['filter']}")
        for line in timed["plan"]:
            print(f"     {line}")
    print(f"  runtime {results['runtime_s']:.0f} s")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    results = asyncio.run(run(args))
    print_table(results)
    write_results(args.output, results)
    return 0 if all(timed["verdict"] == "PASS" for timed in results["filters"]) else 1
