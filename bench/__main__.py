"""``python -m bench``: returns/s over the HTTP API against bare Temporal workflows/s, on one server.

``python -m bench console``: the console's page times with a full store (bench/console.py).
``python -m bench dashboard``: how fast the metrics answer over 100,000 returns (bench/dashboard.py).
``python -m bench reads``: the list's filters over 1,000,000 returns on PostgreSQL (bench/reads.py).
``python -m bench api``: creates and reads under load, on SQLite and PostgreSQL (bench/api_load.py).
``python -m bench open``: the worker's memory with 10,000 returns open, and a scan's time then (bench/open_returns.py).
``python -m bench assist``: reason suggestions, duplicate photos and the risk model against their targets.
``python -m bench demo-data``: fills a running stack with returns to train the risk model on (bench/demo_data.py).
See bench/README.md for what each figure means.
"""

import argparse
import asyncio
import logging
import os
import secrets
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench import api_load, assist, console, dashboard, demo_data, open_returns, reads
from bench.baseline import measure_bare
from bench.databases import add_postgres_server_argument, app_database
from bench.drive import Driver, ReturnsResult, drive_returns
from bench.measure import Usage, billable_actions, measured, percentiles, progress_for, verdict, write_results
from bench.stack import running_stack
from returnflow.logging import configure_logging

RESULTS = Path(__file__).parent / "results" / "latest.json"
# With the return worker as its own process (--worker-process); the long-term goal is 1.0.
TARGET_RATIO = 0.6
LONG_TERM_RATIO = 1.0
TARGET_EVENTS = 35
STEPS = ("create", "to_shipment", "carrier", "to_received", "inspection", "to_completed")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=200, help="returns driven to completed (default 200)")
    parser.add_argument(
        "--concurrency", type=int, default=20, help="returns (and bare workflows) in flight at once (default 20)"
    )
    parser.add_argument("--bare", type=int, default=200, help="bare workflows for the baseline (default 200)")
    parser.add_argument(
        "--history-sample", type=int, default=10, help="completed returns whose history is counted (default 10)"
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=0.05,
        # Each poll costs the API about 2 ms of CPU on the cores it measures (the driver's client 0.2 ms,
        # bench/http_client.py): polling every 20 ms with httpx took a third of the bench process's CPU.
        help="seconds between two GETs while waiting for a status (default 0.05)",
    )
    parser.add_argument(
        "--worker-process",
        action="store_true",
        help="run the return worker as its own process (python worker.py) instead of in-process",
    )
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the app database: the embedded SQLite default, or a throw-away PostgreSQL database (sqlite)",
    )
    add_postgres_server_argument(parser)
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    return parser.parse_args(argv)


progress = progress_for("bench")


async def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    began = time.perf_counter()
    progress("starting Temporal, sandbox, database, workers and API")
    async with (
        app_database(args.database, args.postgres_server) as database_url,
        running_stack(worker_process=args.worker_process, database_url=database_url) as stack,
    ):
        client = stack.client
        driver = Driver(stack.api_url, stack.service_key, stack.operator_key, poll_interval=args.poll_interval)
        try:
            progress(f"up in {time.perf_counter() - began:.1f} s; warming up (one of each, not measured)")
            await measure_bare(client, 1, 1)
            warmup = await drive_returns(driver, await driver.put_orders("warmup", 1, 1), 1)
            if warmup.failures:
                raise SystemExit(f"bench: the warm-up return failed: {warmup.failures[0]}")

            progress(f"{args.bare} bare workflows, {args.concurrency} at a time")
            bare = await measure_bare(client, args.bare, args.concurrency)
            progress(f"{args.returns} orders (PUT, not part of returns/s)")
            prefix = "bench-" + secrets.token_hex(3)
            order_ids, orders = await measured(driver.put_orders(prefix, args.returns, args.concurrency))
            progress(f"{args.returns} returns, {args.concurrency} at a time")
            returns, usage = await measured(drive_returns(driver, order_ids, args.concurrency))
            progress("counting history events")
            histories = await count_histories(client, [r.return_id for r in returns.runs[: args.history_sample]])
        finally:
            await driver.close()
        progress("stopping")
    return summarize(args, bare, orders, returns, usage, histories, runtime=time.perf_counter() - began)


# --- histories ----------------------------------------------------------------------------------------


async def count_histories(client: Client, workflow_ids: list[str]) -> dict[str, Any]:
    counts: list[int] = []
    actions: list[int] = []
    by_type: Counter[str] = Counter()
    for workflow_id in workflow_ids:
        events = (await client.get_workflow_handle(workflow_id).fetch_history()).events
        counts.append(len(events))
        actions.append(billable_actions(events))
        by_type.update(EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in events)
    if not counts:
        return {"sample": 0}
    return {
        "sample": len(counts),
        "mean": round(sum(counts) / len(counts), 1),
        "max": max(counts),
        "min": min(counts),
        "actions_mean": round(sum(actions) / len(actions), 1),
        "by_type_mean": {k: round(v / len(counts), 2) for k, v in by_type.most_common()},
    }


# --- the figures --------------------------------------------------------------------------------------


def summarize(
    args: argparse.Namespace,
    bare: dict[str, Any],
    orders: Usage,
    returns: ReturnsResult,
    usage: Usage,
    histories: dict[str, Any],
    runtime: float,
) -> dict[str, Any]:
    runs = returns.runs
    per_s = len(runs) / returns.wall if returns.wall else 0.0
    steps = {name: percentiles([getattr(r, name) for r in runs]) for name in STEPS}
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {
            "returns": args.returns,
            "concurrency": args.concurrency,
            "bare": args.bare,
            "poll_interval_s": args.poll_interval,
            "worker": "subprocess" if args.worker_process else "in-process",
            "database": args.database,
            "cpus": os.cpu_count(),
            # Other work on the machine skews every figure; this says how busy it was at the end.
            "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        },
        "returns_per_s": round(per_s, 2),
        "bare_wf_per_s": round(bare["per_s"], 2),
        "ratio": round(per_s / bare["per_s"], 3) if bare["per_s"] else None,
        "events_per_return": histories,
        "create_latency_ms": steps["create"],
        "returns": {
            "completed": len(runs),
            "failed": len(returns.failures),
            "failures": returns.failures[:5],
            "wall_s": round(returns.wall, 2),
            "return_latency_ms": percentiles([r.finished - r.started for r in runs]),
            "steps_ms": steps,
            "http_requests_per_return": round(sum(r.requests for r in runs) / len(runs), 1) if runs else None,
            "polls_per_return": round(sum(r.polls for r in runs) / len(runs), 1) if runs else None,
            "usage": usage.as_dict(),
        },
        "orders": {"count": args.returns, "per_s": round(args.returns / orders.wall_s, 1), **orders.as_dict()},
        "bare": {
            "count": bare["count"],
            "latency_ms": bare["latency_ms"],
            "events_per_workflow": bare["events_per_workflow"],
            "actions_per_workflow": bare["actions_per_workflow"],
            "usage": bare["usage"].as_dict(),
        },
        "targets": {"ratio_min": TARGET_RATIO, "events_per_return_max": TARGET_EVENTS},
        "runtime_s": round(runtime, 1),
    }


def print_table(r: dict[str, Any]) -> None:
    s, ret, bare, ev = r["settings"], r["returns"], r["bare"], r["events_per_return"]
    ratio, create = r["ratio"] or 0.0, r["create_latency_ms"]
    actions, bare_actions = ev.get("actions_mean", 0), bare["actions_per_workflow"]
    rows = [
        (
            "returns/s",
            f"{r['returns_per_s']:.2f}",
            f"{ret['completed']} completed in {ret['wall_s']:.1f} s (first create to last completed), "
            f"{ret['failed']} failed",
        ),
        (
            "bare wf/s",
            f"{r['bare_wf_per_s']:.2f}",
            f"{bare['count']} in {bare['usage']['wall_s']:.1f} s, {bare['events_per_workflow']} events each",
        ),
        (
            "ratio",
            f"{ratio:.2f}",
            f"target ≥ {TARGET_RATIO} with --worker-process (long-term {LONG_TERM_RATIO})  "
            f"{verdict(ratio >= TARGET_RATIO)}",
        ),
        (
            "events/return",
            f"{ev.get('mean', 0):.1f}",
            f"max {ev.get('max', 0)}, sample of {ev['sample']}; target ≤ {TARGET_EVENTS}  "
            f"{verdict(ev['sample'] > 0 and ev['max'] <= TARGET_EVENTS)}",
        ),
        (
            "actions/return",
            f"{actions:.1f}",
            "billable (starts, signals, updates, activities incl. local, timers, upserts); "
            f"target ≤ the bare workflow's {bare_actions}  {verdict(0 < actions <= bare_actions)}",
        ),
        ("create p50", f"{create.get('p50', 0):.0f} ms", "POST /v1/returns"),
        ("create p95", f"{create.get('p95', 0):.0f} ms", ""),
    ]
    print(
        f"\nreturnflow bench: {s['returns']} returns, {s['bare']} bare workflows, concurrency "
        f"{s['concurrency']}, return worker {s['worker']}, {s['database']}, {s['cpus']} CPUs, "
        f"load {s['load_average_1m']}"
    )
    for name, value, note in rows:
        print(f"  {name:<14} {value:>10}   {note}")
    print(
        "  a return's steps, mean ms: " + ", ".join(f"{k} {v.get('mean', 0):.0f}" for k, v in ret["steps_ms"].items())
    )
    cpu = ", ".join(f"{k.removesuffix('_cpu_s')} {v:.1f} s" for k, v in ret["usage"].items() if k != "wall_s")
    print(
        f"  per return {ret['http_requests_per_return']} HTTP requests ({ret['polls_per_return']} polls); "
        f"CPU while driving returns ({ret['usage']['wall_s']:.1f} s): {cpu}"
    )
    for failure in ret["failures"]:
        print(f"  FAILED {failure}")
    print(f"  runtime {r['runtime_s']:.0f} s")


# --- logging ------------------------------------------------------------------------------------------


def quiet_logging() -> None:
    """WARNING and up, console format; an error is one line, and the same one is shown at most 3 times.

    Without this one failing workflow task prints a screenful of traceback with locals every 10 s.
    """
    os.environ["RETURNFLOW_LOG_LEVEL"] = "WARNING"
    configure_logging("WARNING", "console")
    seen: Counter[tuple[str, str]] = Counter()

    def compact(record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            record.msg, record.args = f"{record.getMessage()}: {type(error).__name__}: {error}", None
            record.exc_info = record.exc_text = None
        key = (record.name, str(record.msg)[:40])
        seen[key] += 1
        if seen[key] == 3:
            record.msg = f"{record.msg} (repeats of this are hidden from now on)"
        return seen[key] <= 3

    for handler in logging.getLogger().handlers:
        handler.addFilter(compact)

    def one_line_errors(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
        exc_info = event.pop("exc_info", None)
        if exc_info is True:
            exc_info = sys.exc_info()
        error = exc_info[1] if isinstance(exc_info, tuple) else exc_info
        if isinstance(error, BaseException):
            event["error"] = f"{type(error).__name__}: {error}"
        return event

    structlog.configure(processors=[one_line_errors, *structlog.get_config()["processors"]])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    quiet_logging()
    other_modes = {
        "console": console.main,
        "dashboard": dashboard.main,
        "reads": reads.main,
        "api": api_load.main,
        "open": open_returns.main,
        "assist": assist.main,
        "demo-data": demo_data.main,
    }
    if argv and argv[0] in other_modes:
        return other_modes[argv[0]](argv[1:])
    args = parse_args(argv)
    results = asyncio.run(run_bench(args))
    print_table(results)
    write_results(args.output, results)
    return 0 if results["returns"]["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
