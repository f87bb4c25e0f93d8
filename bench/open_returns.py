"""``python -m bench open``: the worker's memory with many returns open, and how fast a scan applies then.

A whole stack comes up with the return worker as its own process; ``--open`` returns are created
over the API (each waits for its parcel's first scan, with its ship-by timer running), then the
worker's resident memory is read from ``/proc`` and, for ``--scans`` of those returns one after
the other, a ``picked_up`` carrier event is posted and the return polled until it shows
``in_transit``: the time a scan takes to reach the return's read model with that many open
(most of them evicted from the worker's cache, so the scan replays the history first).
See bench/README.md.
"""

import argparse
import asyncio
import os
import random
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.api_load import create_returns
from bench.drive import Driver
from bench.measure import percentiles, progress_for, verdict, write_results
from bench.stack import running_stack

RESULTS = Path(__file__).parent / "results" / "open.json"
TARGET_RSS_MB = 300.0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench open", description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=10_000, help="returns left waiting for a scan (10,000)")
    parser.add_argument("--scans", type=int, default=30, help="scans timed, one after the other (30)")
    parser.add_argument("--database-url", help="the app's database (default: SQLite in the stack's folder)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    return parser.parse_args(argv)


progress = progress_for("bench open")


def resident_mb(pid: int) -> float:
    """The process's resident set size (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


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


async def run(args: argparse.Namespace) -> dict[str, Any]:
    began = time.perf_counter()
    async with running_stack(worker_process=True, database_url=args.database_url) as stack:
        assert stack.worker is not None and stack.worker.process is not None
        worker_pid = stack.worker.process.pid
        driver = Driver(stack.api_url, stack.service_key, stack.operator_key)
        try:
            rss_before = resident_mb(worker_pid)
            progress(f"{args.open} orders and returns (32 at a time)")
            orders = await driver.put_orders("open-" + secrets.token_hex(3), args.open, 32)
            created, opened = await create_returns(driver, orders, 32)
            if created.errors:
                raise SystemExit(f"bench open: {len(created.errors)} creates failed, e.g. {created.errors[0]}")
            await wait_until_booked(driver, opened)
            rss_open = resident_mb(worker_pid)
            progress(f"{len(opened)} open; timing {args.scans} scans")
            chosen = random.Random(4).sample(opened, min(args.scans, len(opened)))
            scans = [await time_scan(driver, return_id) for return_id in chosen]
            rss_after = resident_mb(worker_pid)
        finally:
            await driver.close()
    return {
        "settings": {
            "open": args.open,
            "scans": args.scans,
            "database": "postgresql" if args.database_url else "sqlite",
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
        "creates_per_s": created.figures()["per_s"],
        "worker_rss_mb": {
            "before": round(rss_before, 1),
            "open": round(rss_open, 1),
            "after_scans": round(rss_after, 1),
        },
        "scan_to_in_transit_ms": percentiles(scans),
        "target_rss_mb": TARGET_RSS_MB,
        "runtime_s": round(time.perf_counter() - began, 1),
    }


async def wait_until_booked(driver: Driver, return_ids: list[str]) -> None:
    """Every return booked and waiting for its scan (awaiting_shipment), so the worker holds them all."""
    for return_id in return_ids[-50:]:  # the last created are the last booked
        deadline = time.perf_counter() + 120
        while (await driver.service.get(f"/v1/returns/{return_id}")).json()["status"] != "awaiting_shipment":
            if time.perf_counter() > deadline:
                raise SystemExit(f"bench open: {return_id} was not booked within 120 s")
            await asyncio.sleep(0.2)


def print_table(r: dict[str, Any]) -> None:
    s, rss, scan = r["settings"], r["worker_rss_mb"], r["scan_to_in_transit_ms"]
    peak = max(rss["open"], rss["after_scans"])
    print(
        f"\nreturnflow bench open: {s['open']} returns waiting for a scan, {s['database']}, "
        f"{s['cpus']} CPUs, load {s['load_average_1m']}"
    )
    print(
        f"  worker RSS      {peak:>7.0f} MB   (before {rss['before']:.0f}, all open {rss['open']:.0f}, after the scans "
        f"{rss['after_scans']:.0f})  target ≤ {r['target_rss_mb']:.0f} MB  {verdict(peak <= r['target_rss_mb'])}"
    )
    print(
        f"  scan applied    p50 {scan.get('p50', 0):>5.0f} ms  p95 {scan.get('p95', 0):>5.0f} ms  max "
        f"{scan.get('max', 0):.0f} ms  (carrier event posted → GET shows in_transit)"
    )
    print(f"  created {r['creates_per_s']:.1f} returns/s; runtime {r['runtime_s']:.0f} s")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    results = asyncio.run(run(args))
    print_table(results)
    write_results(args.output, results)
    rss = results["worker_rss_mb"]
    return 0 if max(rss["open"], rss["after_scans"]) <= TARGET_RSS_MB else 1
