"""``python -m bench open``: the worker's memory with many returns open, and how fast a scan applies then.

A whole stack comes up with the return worker as its own process (``python worker.py``, its settings
from the environment as in production) and the API as ``--api-processes`` uvicorn processes. ``--open``
returns are created over the API, ``--concurrency`` at a time (each waits for its parcel's first scan,
with its ship-by timer running), while the worker's resident memory is read from ``/proc``. Then, for
``--scans`` of those returns one after the other, a ``picked_up`` carrier event is posted and the
return polled until it shows ``in_transit``: the time a scan takes to reach the return's read model
with that many open (most of them evicted from the worker's cache, so the scan replays the history
first). See bench/README.md.
"""

import argparse
import asyncio
import os
import random
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.drive import RETURN_BODY, Driver, run_at_most
from bench.http_client import NoAnswer
from bench.measure import percentiles, progress_for, verdict, write_results
from bench.stack import running_stack
from returnflow.settings import Settings

RESULTS = Path(__file__).parent / "results" / "open.json"
TARGET_RSS_MB = 300.0
# Creates answered 409 (the first attempt still runs), 429, 503 or not at all are retried with the same
# Idempotency-Key, as a storefront would: the retry lands on the same return, never a second one.
CREATE_ATTEMPTS = 5
RETRY_PAUSE_SECONDS = 1.0  # before the second attempt; twice that before the third, and so on
RETRIED_STATUSES = frozenset({409, 429, 503})
# The worker settings the table shows (the README's settings table says what each does).
WORKER_SETTINGS = (
    "worker_max_cached_workflows",
    "worker_max_concurrent_workflow_tasks",
    "worker_max_concurrent_activities",
    "worker_max_concurrent_local_activities",
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench open", description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=10_000, help="returns left waiting for a scan (10,000)")
    parser.add_argument("--scans", type=int, default=30, help="scans timed, one after the other (30)")
    parser.add_argument("--concurrency", type=int, default=48, help="creates in flight at once (48)")
    parser.add_argument("--api-processes", type=int, default=2, help="uvicorn processes serving the API (2)")
    parser.add_argument(
        "--max-cached-workflows",
        type=int,
        help="the worker's RETURNFLOW_WORKER_MAX_CACHED_WORKFLOWS (default: the environment's, else the setting's)",
    )
    parser.add_argument("--database-url", help="the app's database (default: SQLite in the stack's folder)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    return parser.parse_args(argv)


progress = progress_for("bench open")


def memory_mb(pid: int) -> dict[str, float]:
    """The process's resident set size now (``VmRSS``) and at its highest so far (``VmHWM``), in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {name: int(fields[key].split()[0]) / 1024 for name, key in (("now", "VmRSS"), ("peak", "VmHWM"))}


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


@dataclass
class Creates:
    """The returns created, how many creates needed a retry, and what could not be created."""

    return_ids: list[str] = field(default_factory=list)
    retries: int = 0
    failures: list[str] = field(default_factory=list)
    wall_s: float = 0.0


async def create_return(driver: Driver, order_id: str, creates: Creates) -> None:
    """``POST /v1/returns`` for the order, retried with the same Idempotency-Key while the answer is transient."""
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            answer = await driver.service.post(
                "/v1/returns",
                json={"order_id": order_id, **RETURN_BODY},
                headers={"Idempotency-Key": f"open-{order_id}"},
            )
        except NoAnswer as failure:  # timed out, or the connection was reset
            outcome = type(failure).__name__
        else:
            if answer.status_code == 201:
                creates.return_ids.append(answer.json()["id"])
                return
            if answer.status_code not in RETRIED_STATUSES:
                creates.failures.append(f"{order_id}: {answer.status_code} {answer.text[:200]}")
                return
            outcome = str(answer.status_code)
        if attempt == CREATE_ATTEMPTS:
            creates.failures.append(f"{order_id}: {outcome} {CREATE_ATTEMPTS} times")
            return
        creates.retries += 1
        await asyncio.sleep(RETRY_PAUSE_SECONDS * attempt)


async def create_all(driver: Driver, order_ids: list[str], concurrency: int, worker_pid: int) -> Creates:
    """One return per order, ``concurrency`` at a time, with a progress line (rate, worker memory) every 10 %."""
    creates, began = Creates(), time.perf_counter()
    step = max(1, len(order_ids) // 10)
    for start in range(0, len(order_ids), step):
        await run_at_most(
            concurrency, lambda order_id: create_return(driver, order_id, creates), order_ids[start : start + step]
        )
        done, elapsed = len(creates.return_ids), time.perf_counter() - began
        rate = done / elapsed if elapsed else 0.0
        left = (len(order_ids) - start - step) / rate if rate else 0.0
        progress(
            f"{done} created in {elapsed:.0f} s ({rate:.1f}/s, about {max(left, 0):.0f} s left); "
            f"worker RSS {memory_mb(worker_pid)['now']:.0f} MB; load {load_average()}"
        )
    creates.wall_s = time.perf_counter() - began
    return creates


async def time_scan(driver: Driver, return_id: str) -> float:
    """Seconds from posting a picked_up scan until the return shows in_transit."""
    view = (await driver.service.get(f"/v1/returns/{return_id}")).json()
    scan = {
        "tracking_number": view["logistics"]["tracking_number"],
        "event": "picked_up",
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    started = time.perf_counter()
    answer = await driver.service.post("/v1/carrier-events", json=scan)
    if answer.status_code != 202:
        raise RuntimeError(f"the carrier event was answered {answer.status_code}: {answer.text[:200]}")
    while (await driver.service.get(f"/v1/returns/{return_id}")).json()["status"] != "in_transit":
        if time.perf_counter() - started > 60:
            raise RuntimeError(f"{return_id} did not show in_transit within 60 s of its scan")
        await asyncio.sleep(0.01)
    return time.perf_counter() - started


async def wait_until_booked(driver: Driver, return_ids: list[str]) -> None:
    """Every return booked and waiting for its scan (awaiting_shipment), so the worker holds them all."""
    for return_id in return_ids[-50:]:  # the last created are the last booked
        deadline = time.perf_counter() + 120
        while (await driver.service.get(f"/v1/returns/{return_id}")).json()["status"] != "awaiting_shipment":
            if time.perf_counter() > deadline:
                raise SystemExit(f"bench open: {return_id} was not booked within 120 s")
            await asyncio.sleep(0.2)


@contextmanager
def worker_settings(max_cached_workflows: int | None) -> Iterator[Settings]:
    """The settings the worker process reads from the environment, ``--max-cached-workflows`` set over it."""
    name, before = "RETURNFLOW_WORKER_MAX_CACHED_WORKFLOWS", os.environ.get("RETURNFLOW_WORKER_MAX_CACHED_WORKFLOWS")
    if max_cached_workflows is not None:
        os.environ[name] = str(max_cached_workflows)  # the worker process inherits this process's environment
    try:
        yield Settings()
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


async def run(args: argparse.Namespace) -> dict[str, Any]:
    began = time.perf_counter()
    with worker_settings(args.max_cached_workflows) as settings:
        results = await run_with(args, settings)
    results["runtime_s"] = round(time.perf_counter() - began, 1)
    return results


async def run_with(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    async with running_stack(
        worker_process=True, database_url=args.database_url, api_processes=args.api_processes
    ) as stack:
        assert stack.worker is not None and stack.worker.process is not None
        worker_pid = stack.worker.process.pid
        driver = Driver(stack.api_url, stack.service_key, stack.operator_key)
        try:
            rss_before = memory_mb(worker_pid)["now"]
            progress(f"{args.open} orders")
            put_began = time.perf_counter()
            orders = await driver.put_orders("open-" + secrets.token_hex(3), args.open, 32)
            orders_s = time.perf_counter() - put_began
            progress(f"{args.open} returns, {args.concurrency} at a time")
            creates = await create_all(driver, orders, args.concurrency, worker_pid)
            if creates.failures:
                raise SystemExit(f"bench open: {len(creates.failures)} creates failed, e.g. {creates.failures[0]}")
            await wait_until_booked(driver, creates.return_ids)
            load_open, rss_open = load_average(), memory_mb(worker_pid)["now"]
            progress(f"{len(creates.return_ids)} open; timing {args.scans} scans")
            chosen = random.Random(4).sample(creates.return_ids, min(args.scans, len(creates.return_ids)))
            scans = [await time_scan(driver, return_id) for return_id in chosen]
            rss_after = memory_mb(worker_pid)
        finally:
            await driver.close()
    return {
        "settings": {
            "open": args.open,
            "scans": args.scans,
            "concurrency": args.concurrency,
            "api_processes": args.api_processes,
            "database": "postgresql" if args.database_url else "sqlite",
            "cpus": os.cpu_count(),
            "worker": {name: getattr(settings, name) for name in WORKER_SETTINGS},
        },
        "orders_put_s": round(orders_s, 1),
        "creates": {
            "count": len(creates.return_ids),
            "wall_s": round(creates.wall_s, 1),
            "per_s": round(len(creates.return_ids) / creates.wall_s, 1) if creates.wall_s else 0.0,
            "retried": creates.retries,
        },
        "worker_rss_mb": {
            "before": round(rss_before, 1),
            "open": round(rss_open, 1),
            "after_scans": round(rss_after["now"], 1),
            "peak": round(rss_after["peak"], 1),
        },
        "scan_to_in_transit_ms": percentiles(scans),
        "target_rss_mb": TARGET_RSS_MB,
        "load_average_1m": {"all_open": load_open, "end": load_average()},
    }


def rss_ok(results: dict[str, Any]) -> bool:
    """The target holds for the worker's highest resident memory of the whole run, not one reading."""
    return bool(results["worker_rss_mb"]["peak"] <= results["target_rss_mb"])


def print_table(r: dict[str, Any]) -> None:
    s, rss, scan, creates = r["settings"], r["worker_rss_mb"], r["scan_to_in_transit_ms"], r["creates"]
    load = r["load_average_1m"]
    print(
        f"\nreturnflow bench open: {s['open']} returns waiting for a scan, {s['database']}, {s['cpus']} CPUs, "
        f"API {s['api_processes']} processes, load {load['all_open']} with all open, {load['end']} at the end"
    )
    print(
        "  worker          "
        + ", ".join(f"{name.removeprefix('worker_')}={value}" for name, value in s["worker"].items())
    )
    print(
        f"  worker RSS      {rss['peak']:>7.0f} MB peak  (before {rss['before']:.0f}, all open {rss['open']:.0f}, "
        f"after the scans {rss['after_scans']:.0f})  target ≤ {r['target_rss_mb']:.0f} MB  {verdict(rss_ok(r))}"
    )
    print(
        f"  scan applied    p50 {scan.get('p50', 0):>5.0f} ms  p99 {scan.get('p99', 0):>5.0f} ms  "
        f"({s['scans']} scans one after the other: carrier event posted → GET shows in_transit)"
    )
    print(
        f"  created         {creates['count']} in {creates['wall_s']:.0f} s ({creates['per_s']:.1f}/s, "
        f"{s['concurrency']} at a time, {creates['retried']} retried); orders PUT in {r['orders_put_s']:.0f} s; "
        f"runtime {r['runtime_s']:.0f} s"
    )


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    results = asyncio.run(run(args))
    print_table(results)
    write_results(args.output, results)
    return 0 if rss_ok(results) else 1
