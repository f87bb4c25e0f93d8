"""``python -m bench``: returns/s over the HTTP API against bare Temporal workflows/s, on one server.

See bench/README.md for what each figure means.
"""

import argparse
import asyncio
import json
import os
import secrets
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench.bare_workflow import TASK_QUEUE as BARE_TASK_QUEUE
from bench.bare_workflow import BareWorkflow
from bench.drive import Driver, ReturnsResult, drive_returns, run_at_most
from bench.stack import running_stack
from returnflow.logging import configure_logging

RESULTS = Path(__file__).parent / "results" / "latest.json"
TARGET_RATIO = 1.0
TARGET_EVENTS = 35


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=200, help="returns driven to completed (default 200)")
    parser.add_argument("--concurrency", type=int, default=20,
                        help="returns (and bare workflows) in flight at once (default 20)")
    parser.add_argument("--bare", type=int, default=200, help="bare workflows for the baseline (default 200)")
    parser.add_argument("--history-sample", type=int, default=10,
                        help="completed returns whose history is counted (default 10)")
    parser.add_argument("--poll-interval", type=float, default=0.02,
                        help="seconds between two GETs while waiting for a status (default 0.02)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    return parser.parse_args(argv)


async def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    began = time.perf_counter()
    async with running_stack() as stack:
        client = stack.client
        driver = Driver(stack.api_url, stack.service_key, stack.operator_key, poll_interval=args.poll_interval)
        try:
            # Warm-up (not measured): first imports, workflow sandbox, connection pools.
            await measure_bare(client, 1, 1)
            await drive_returns(driver, await driver.put_orders("warmup", 1, 1), 1)

            bare, bare_ids = await measure_bare(client, args.bare, args.concurrency)
            bare_events = len((await client.get_workflow_handle(bare_ids[0]).fetch_history()).events)

            prefix = "bench-" + secrets.token_hex(3)
            order_ids, orders = await measured(driver.put_orders(prefix, args.returns, args.concurrency))
            returns, returns_usage = await measured(drive_returns(driver, order_ids, args.concurrency))
            histories = await count_histories(client, [r.return_id for r in returns.runs[:args.history_sample]])
        finally:
            await driver.close()
    return summarize(args, bare, bare_events, orders, returns, returns_usage, histories,
                     runtime=time.perf_counter() - began)


# --- the baseline -----------------------------------------------------------------------------------


async def measure_bare(client: Client, count: int, concurrency: int) -> tuple[dict[str, Any], list[str]]:
    ids = [f"bare-{secrets.token_hex(4)}-{i}" for i in range(count)]
    latencies: list[float] = []

    async def one(workflow_id: str) -> None:
        start = time.perf_counter()
        await client.execute_workflow(BareWorkflow.run, id=workflow_id, task_queue=BARE_TASK_QUEUE)
        latencies.append(time.perf_counter() - start)

    _, usage = await measured(run_at_most(concurrency, [one(i) for i in ids]))
    return {**usage, "count": count, "per_s": count / usage["wall_s"], "latency_ms": percentiles(latencies)}, ids


# --- histories ----------------------------------------------------------------------------------------


async def count_histories(client: Client, workflow_ids: list[str]) -> dict[str, Any]:
    counts: list[int] = []
    by_type: Counter[str] = Counter()
    for workflow_id in workflow_ids:
        events = (await client.get_workflow_handle(workflow_id).fetch_history()).events
        counts.append(len(events))
        by_type.update(EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in events)
    if not counts:
        return {"sample": 0}
    return {"sample": len(counts), "mean": sum(counts) / len(counts), "max": max(counts), "min": min(counts),
            "by_type_mean": {k: round(v / len(counts), 2) for k, v in by_type.most_common()}}


# --- measuring ----------------------------------------------------------------------------------------


async def measured(job: Any) -> tuple[Any, dict[str, Any]]:
    """Await ``job``; also return its wall time and the CPU used meanwhile by this process and the server."""
    cpu, server_cpu, start = time.process_time(), child_cpu_seconds(), time.perf_counter()
    value = await job
    wall = time.perf_counter() - start
    usage = {"started": start, "wall_s": wall, "python_cpu_s": time.process_time() - cpu}
    if server_cpu is not None:
        usage["temporal_server_cpu_s"] = (child_cpu_seconds() or 0.0) - server_cpu
    return value, usage


def child_cpu_seconds() -> float | None:
    """CPU seconds of this process's children (the Temporal dev server), from /proc; None elsewhere."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == os.getpid():  # ppid
                total += int(fields[11]) + int(fields[12])  # utime + stime
        return total / ticks
    except (OSError, ValueError, IndexError):
        return None


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p95/max in milliseconds (nearest rank)."""
    if not values:
        return {}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered) + 0.5) - 1))] * 1000

    return {"p50": round(rank(0.50), 1), "p95": round(rank(0.95), 1), "max": round(ordered[-1] * 1000, 1)}


def summarize(args: argparse.Namespace, bare: dict[str, Any], bare_events: int, orders: dict[str, Any],
              returns: ReturnsResult, usage: dict[str, Any], histories: dict[str, Any],
              runtime: float) -> dict[str, Any]:
    runs = returns.runs
    wall = returns.wall
    per_s = len(runs) / wall if wall else 0.0

    def mean(pick: Callable[[Any], float]) -> float:
        return sum(pick(r) for r in runs) / len(runs) if runs else 0.0

    steps = {name: {"mean_ms": round(mean(lambda r, n=name: getattr(r, n)) * 1000, 1),
                    **percentiles([getattr(r, name) for r in runs])}
             for name in ("create", "to_shipment", "carrier", "to_received", "inspection", "to_completed")}
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {"returns": args.returns, "concurrency": args.concurrency, "bare": args.bare,
                     "poll_interval_s": args.poll_interval, "worker": "in-process", "cpus": os.cpu_count()},
        "returns_per_s": round(per_s, 2),
        "bare_wf_per_s": round(bare["per_s"], 2),
        "ratio": round(per_s / bare["per_s"], 3) if bare["per_s"] else None,
        "events_per_return": {k: round(v, 1) if isinstance(v, float) else v for k, v in histories.items()},
        "create_latency_ms": steps["create"],
        "returns": {
            "completed": len(runs), "failed": len(returns.failures), "failures": returns.failures[:5],
            "wall_s": round(wall, 2),
            "return_latency_ms": percentiles([r.finished - r.started for r in runs]),
            "steps": steps,
            "http_requests_per_return": round(mean(lambda r: r.requests), 1),
            "polls_per_return": round(mean(lambda r: r.polls), 1),
            "python_cpu_s": round(usage["python_cpu_s"], 2),
            "temporal_server_cpu_s": round(usage.get("temporal_server_cpu_s", 0.0), 2),
        },
        "orders": {"count": args.returns, "wall_s": round(orders["wall_s"], 2),
                   "per_s": round(args.returns / orders["wall_s"], 1) if orders["wall_s"] else None},
        "bare": {"count": bare["count"], "wall_s": round(bare["wall_s"], 2),
                 "latency_ms": bare["latency_ms"], "events_per_workflow": bare_events,
                 "python_cpu_s": round(bare["python_cpu_s"], 2),
                 "temporal_server_cpu_s": round(bare.get("temporal_server_cpu_s", 0.0), 2)},
        "targets": {"ratio_min": TARGET_RATIO, "events_per_return_max": TARGET_EVENTS},
        "runtime_s": round(runtime, 1),
    }


def print_table(r: dict[str, Any]) -> None:
    s, ret, bare, ev = r["settings"], r["returns"], r["bare"], r["events_per_return"]

    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISS"

    ratio = r["ratio"] or 0.0
    rows = [
        ("returns/s", f"{r['returns_per_s']:.2f}",
         f"{ret['completed']} completed in {ret['wall_s']:.1f} s, {ret['failed']} failed"),
        ("bare wf/s", f"{r['bare_wf_per_s']:.2f}",
         f"{bare['count']} in {bare['wall_s']:.1f} s, {bare['events_per_workflow']} events each"),
        ("ratio", f"{ratio:.2f}", f"target ≥ {TARGET_RATIO}  {verdict(ratio >= TARGET_RATIO)}"),
        ("events/return", f"{ev.get('mean', 0):.1f}",
         f"max {ev.get('max', 0)} of {ev['sample']}; target ≤ {TARGET_EVENTS}  "
         f"{verdict(ev.get('max', 0) <= TARGET_EVENTS)}"),
        ("create p50", f"{r['create_latency_ms'].get('p50', 0):.0f} ms", "POST /v1/returns"),
        ("create p95", f"{r['create_latency_ms'].get('p95', 0):.0f} ms", ""),
    ]
    print(f"\nreturnflow bench: {s['returns']} returns, {s['bare']} bare workflows, concurrency "
          f"{s['concurrency']}, worker {s['worker']}, {s['cpus']} CPUs")
    for name, value, note in rows:
        print(f"  {name:<14} {value:>10}   {note}")
    steps = ", ".join(f"{k} {v['mean_ms']:.0f}" for k, v in ret["steps"].items())
    print(f"  a return, mean ms: {steps}")
    print(f"  per return: {ret['http_requests_per_return']:.1f} HTTP requests ({ret['polls_per_return']:.1f} polls); "
          f"CPU during returns: python {ret['python_cpu_s']:.1f} s, temporal {ret['temporal_server_cpu_s']:.1f} s "
          f"of {ret['wall_s']:.1f} s wall")
    for failure in ret["failures"]:
        print(f"  failed: {failure}")
    print(f"  total runtime {r['runtime_s']:.0f} s")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("RETURNFLOW_LOG_LEVEL", "WARNING")
    configure_logging("WARNING", "console")
    results = asyncio.run(run_bench(args))
    print_table(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"  written to {args.output}")
    return 0 if results["returns"]["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
