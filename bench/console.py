"""``python -m bench console``: how fast the console's queue and return pages answer with a full store.

See bench/README.md ("The console's pages") for what is measured and how to read it.
"""

import argparse
import asyncio
import json
import os
import random
import re
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from api.app import create_app
from bench.console_seed import Seeded, seed_store
from bench.measure import percentiles, progress_for
from domain.returns import Status
from returnflow.codec import new_key_entry
from returnflow.serve import serve_app
from returnflow.settings import Settings
from returnflow.temporal import data_converter
from store import operators
from store.db import Database, redacted
from store.migrate import upgrade_async

RESULTS = Path(__file__).parent / "results"
TARGET_P95_MS = 100.0
OPERATOR, PASSWORD = "bench-operator", "bench operator password"
# The Temporal address no page may need: the console reads the store only, so nothing listens there.
NO_TEMPORAL = "127.0.0.1:9"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench console", description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=10_000, help="returns in the store (default 10000)")
    parser.add_argument("--requests", type=int, default=60, help="requests timed per page (default 60)")
    parser.add_argument(
        "--database-url",
        help="the app database to use (migrated, topped up to --returns), e.g. "
        "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_console; default: a SQLite file in a temporary folder",
    )
    parser.add_argument("--output", type=Path, help=f"JSON results (default {RESULTS}/console-<database>.json)")
    return parser.parse_args(argv)


progress = progress_for("bench console")


@dataclass(frozen=True)
class Page:
    """A page to time: its name and, for each request, the URL to ask (so a page can vary what it asks)."""

    name: str
    url: Callable[[int], str]


def pages(seeded: list[Seeded], second_page: str, rng: random.Random) -> list[Page]:
    """The queue pages, all returns with and without each filter, page 2, and the return page."""
    with_tracking = [s for s in seeded if s.tracking_number]
    newest = max(s.created_at for s in seeded)
    week = (newest - timedelta(days=7)).date().isoformat(), newest.date().isoformat()

    def pick(among: list[Seeded]) -> Callable[[int], Seeded]:
        return lambda _n: rng.choice(among)

    any_return, tracked = pick(seeded), pick(with_tracking)
    return [
        Page("queue: review", lambda _n: "/console/queues/review"),
        Page("queue: attention", lambda _n: "/console/queues/attention"),
        Page("queue: attention, one reason", lambda _n: "/console/queues/attention?reason=refund_failed"),
        Page("queue: inspection", lambda _n: "/console/queues/inspection"),
        Page("returns", lambda _n: "/console/returns"),
        Page("returns: page 2 (cursor)", lambda _n: second_page),
        Page("returns: status", lambda _n: f"/console/returns?status={Status.COMPLETED.value}"),
        Page("returns: customer id", lambda n: f"/console/returns?customer_id={any_return(n).customer_id}"),
        Page("returns: order id", lambda n: f"/console/returns?order_id={any_return(n).order_id}"),
        Page("returns: tracking number", lambda n: f"/console/returns?tracking_number={tracked(n).tracking_number}"),
        Page("returns: any id (search)", lambda n: f"/console/returns?q={tracked(n).tracking_number}"),
        Page("returns: last 7 days", lambda _n: f"/console/returns?created_from={week[0]}&created_to={week[1]}"),
        Page("returns: status + 7 days", lambda _n: f"/console/returns?status=in_transit&created_from={week[0]}"),
        Page("return page", lambda n: f"/console/returns/{any_return(n).return_id}"),
    ]


@asynccontextmanager
async def served_console(database: Database, workdir: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The API app on real HTTP with no Temporal server behind it, and a browser logged in as an operator."""
    if not os.environ.get("RETURNFLOW_CODEC_KEYS", "").strip():
        os.environ["RETURNFLOW_CODEC_KEYS"] = new_key_entry("bench")
    settings = Settings(database_url=database.url, data_dir=workdir, log_level="WARNING", temporal_address=NO_TEMPORAL)
    temporal = await Client.connect(NO_TEMPORAL, data_converter=data_converter(settings), lazy=True)
    async with database.transaction() as session:
        await operators.save_operator(session, OPERATOR, PASSWORD, datetime.now(UTC), replace=True)
    app = create_app(settings, temporal=temporal, database=database)
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as browser:
        login = await browser.get("/console/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert token, "the login form has its token"
        answer = await browser.post(
            "/console/login", data={"name": OPERATOR, "password": PASSWORD, "csrf_token": token.group(1)}
        )
        if answer.status_code != 303:
            raise SystemExit(f"bench console: logging in failed ({answer.status_code})")
        yield browser


async def time_page(browser: httpx.AsyncClient, page: Page, requests: int) -> dict[str, Any]:
    """``requests`` GETs one after the other (after two not counted), each timed from send to the whole body."""
    for n in range(2):
        await browser.get(page.url(n))
    durations, statuses = [], set()
    for n in range(requests):
        started = time.perf_counter()
        answer = await browser.get(page.url(n))
        durations.append(time.perf_counter() - started)
        statuses.add(answer.status_code)
    figures = percentiles(durations)
    missing = statuses == {404}
    return {
        "page": page.name,
        "example": page.url(0),
        "statuses": sorted(statuses),
        "ms": figures,
        "verdict": "n/a" if missing else "PASS" if statuses == {200} and figures["p95"] <= TARGET_P95_MS else "MISS",
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="returnflow-bench-console-") as folder:
        workdir = Path(folder)
        url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'returnflow.db'}"
        progress(f"migrating {redacted(url)}")
        await upgrade_async(url)
        database = Database(url)
        try:
            progress(f"seeding up to {args.returns} returns")
            seeding = time.perf_counter()
            seeded = await seed_store(database, args.returns, datetime.now(UTC))
            seed_s = time.perf_counter() - seeding
            progress(f"{len(seeded)} returns in the store ({seed_s:.1f} s); timing {args.requests} requests per page")
            async with served_console(database, workdir) as browser:
                first = (await browser.get("/console/returns")).text
                cursor = re.search(r'<a href="([^"]+)" rel="next">', first)
                assert cursor, "the first page of all returns links to a second"
                second = cursor.group(1).replace("&amp;", "&")
                timed = [
                    await time_page(browser, page, args.requests) for page in pages(seeded, second, random.Random(7))
                ]
        finally:
            await database.dispose()
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": database.engine.dialect.name,
        "returns_in_store": len(seeded),
        "queues": {
            status.value: sum(1 for s in seeded if s.status == status)
            for status in (Status.UNDER_REVIEW, Status.NEEDS_ATTENTION, Status.RECEIVED)
        },
        "seed_s": round(seed_s, 1),
        "requests_per_page": args.requests,
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "target_p95_ms": TARGET_P95_MS,
        "pages": timed,
        "runtime_s": round(time.perf_counter() - began, 1),
    }


def print_table(r: dict[str, Any]) -> None:
    queues = ", ".join(f"{status} {count}" for status, count in r["queues"].items())
    print(
        f"\nreturnflow console pages: {r['returns_in_store']} returns on {r['database']} ({queues}), "
        f"{r['requests_per_page']} requests each, {r['cpus']} CPUs, load {r['load_average_1m']}"
    )
    print(f"  {'page':<30} {'p50':>8} {'p95':>8} {'max':>8}   target p95 ≤ {r['target_p95_ms']:.0f} ms")
    for page in r["pages"]:
        ms = page["ms"]
        note = "" if page["statuses"] == [200] else f"  (answered {page['statuses']})"
        times = f"{ms['p50']:>6.1f}ms {ms['p95']:>6.1f}ms {ms['max']:>6.1f}ms"
        print(f"  {page['page']:<30} {times}   {page['verdict']}{note}")
    print(f"  runtime {r['runtime_s']:.0f} s (seeding {r['seed_s']:.0f} s)")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    results = asyncio.run(run(args))
    print_table(results)
    output = args.output or RESULTS / f"console-{results['database']}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"  figures written to {output}")
    return 0 if all(page["verdict"] != "MISS" for page in results["pages"]) else 1
