"""``python -m bench api``: the API under load — creates at 4 and 32 at a time, reads at 32, no errors at 50.

On each database asked for (SQLite and PostgreSQL by default), a whole stack comes up with the
return worker as its own process and the API as ``--api-processes`` processes (``python -m api``
with ``RETURNFLOW_API_PROCESSES``), one per CPU as the docs recommend. Then, on the same server:

0. ``POST /v1/returns`` one at a time (``ALONE`` of them): a create's own latency, nothing queued beside it
   (no target; it says how much of the latency at 4 is waiting for the others).
1. ``POST /v1/returns`` 4 at a time: the latency a storefront sees (p50, p99).
2. Bare six-activity workflows 32 at a time: the engine's floor (bench/bare_workflow.py).
3. ``POST /v1/returns`` 32 at a time: creates per second, and that ÷ bare workflows per second.
4. ``GET /v1/returns/{id}`` 32 at a time for ``--read-seconds``, once every created return waits for its
   first scan (the worker idle, as between a storefront's reads; phase 5 mixes them with the worker's
   work), sent by wrk (bench/wrk.py: a Python client would spend more CPU than the API): requests per
   second, p99.
5. Creates and reads mixed, 50 at a time: every answer that is not the expected one is an error.

See bench/README.md.
"""

import argparse
import asyncio
import os
import random
import secrets
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.baseline import measure_bare
from bench.databases import add_postgres_server_argument, app_database
from bench.drive import RETURN_BODY, Driver, run_at_most
from bench.http_client import Answer, NoAnswer
from bench.measure import percentiles, progress_for, verdict, write_results
from bench.stack import running_stack
from bench.wrk import require_wrk, wrk_reads

RESULTS = Path(__file__).parent / "results" / "api.json"
CREATE_P50_MS, CREATE_P99_MS = 100.0, 250.0
CREATE_RATIO_MIN = 1.0
ALONE = 50
READS_PER_S_MIN, READ_P99_MS = 500.0, 100.0
# docs/operations.md#running-several-workers-and-api-processes: one API process per core.
API_PROCESSES = os.cpu_count() or 1


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench api", description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=200, help="returns created in each create phase (200)")
    parser.add_argument("--bare", type=int, default=200, help="bare workflows for the baseline (200)")
    parser.add_argument("--read-seconds", type=float, default=10.0, help="how long the reads run (10 s)")
    parser.add_argument("--mixed", type=int, default=300, help="requests in the mixed phase at 50 (300)")
    parser.add_argument(
        "--api-processes",
        type=int,
        default=API_PROCESSES,
        help=f"processes serving the API (RETURNFLOW_API_PROCESSES), one per CPU as the docs say ({API_PROCESSES})",
    )
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="which app databases to run on, in turn (sqlite,postgresql)"
    )
    add_postgres_server_argument(parser)
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    return parser.parse_args(argv)


progress = progress_for("bench api")


@dataclass
class Timed:
    """Latencies of the answers that were as expected, and what the others were."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    def record(self, started: float, answer: Answer | Exception, expected: int) -> None:
        if isinstance(answer, Exception):
            self.errors.append(f"{type(answer).__name__}: {answer}")
        elif answer.status_code != expected:
            self.errors.append(f"{answer.method} {answer.path} {answer.status_code}")
        else:
            self.latencies.append(time.perf_counter() - started)

    def figures(self) -> dict[str, Any]:
        count = len(self.latencies)
        return {
            "ok": count,
            "errors": len(self.errors),
            "error_sample": self.errors[:5],
            "per_s": round(count / self.wall_s, 1) if self.wall_s else 0.0,
            "ms": percentiles(self.latencies),
        }


async def answered(request: Awaitable[Answer]) -> Answer | Exception:
    """The answer, or the connection's failure as a value: under load a failed request is a figure, not a crash."""
    try:
        return await request
    except NoAnswer as failure:
        return failure


async def create_returns(driver: Driver, order_ids: list[str], concurrency: int) -> tuple[Timed, list[str]]:
    """One return per order, ``concurrency`` at a time; each create timed until its 201."""
    timed, created = Timed(), []

    async def create(order_id: str) -> None:
        started = time.perf_counter()
        answer = await answered(
            driver.service.post(
                "/v1/returns", json={"order_id": order_id, **RETURN_BODY}, headers={"Idempotency-Key": order_id}
            )
        )
        timed.record(started, answer, 201)
        if isinstance(answer, Answer) and answer.status_code == 201:
            created.append(answer.json()["id"])

    began = time.perf_counter()
    await run_at_most(concurrency, create, order_ids)
    timed.wall_s = time.perf_counter() - began
    return timed, created


async def settle(driver: Driver, return_ids: list[str], timeout_s: float = 120.0) -> None:
    """Wait until every return waits for its first scan (the worker has nothing left to do for them)."""
    deadline = time.perf_counter() + timeout_s
    pending = list(return_ids)
    while pending and time.perf_counter() < deadline:
        answers = [await answered(driver.service.get(f"/v1/returns/{return_id}")) for return_id in pending]
        pending = [
            return_id
            for return_id, answer in zip(pending, answers, strict=True)
            if not (isinstance(answer, Answer) and answer.json().get("status") == "awaiting_shipment")
        ]
        if pending:
            await asyncio.sleep(0.5)
    if pending:
        progress(f"{len(pending)} returns still not waiting for a scan after {timeout_s:.0f} s; reading anyway")


async def mixed(driver: Driver, order_ids: list[str], return_ids: list[str], concurrency: int) -> Timed:
    """Creates (one per order) and reads, interleaved, ``concurrency`` at a time."""
    creates, reads = Timed(), Timed()

    async def one(item: str) -> None:
        if item.startswith("order:"):
            result, _ = await create_returns(driver, [item.removeprefix("order:")], 1)
            creates.latencies += result.latencies
            creates.errors += result.errors
        else:
            started = time.perf_counter()
            reads.record(started, await answered(driver.service.get(f"/v1/returns/{item}")), 200)

    items = [f"order:{order_id}" for order_id in order_ids]
    items += [random.Random(9).choice(return_ids) for _ in order_ids]
    random.Random(11).shuffle(items)
    began = time.perf_counter()
    await run_at_most(concurrency, one, items)
    return Timed(creates.latencies + reads.latencies, creates.errors + reads.errors, time.perf_counter() - began)


async def run_on(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    async with (
        app_database(kind, args.postgres_server) as url,
        running_stack(worker_process=True, database_url=url, api_processes=args.api_processes) as stack,
    ):
        driver = Driver(stack.api_url, stack.service_key, stack.operator_key)
        try:
            prefix = "api-" + secrets.token_hex(3)
            orders = await driver.put_orders(prefix, 2 + ALONE + 2 * args.creates + args.mixed, 32)
            warmup, alone_orders, rest = orders[:2], orders[2 : 2 + ALONE], orders[2 + ALONE :]
            await create_returns(driver, warmup, 1)  # not counted
            await measure_bare(stack.client, 1, 1)
            low, first_half = rest[: args.creates], rest[args.creates : 2 * args.creates]
            mixed_orders = rest[2 * args.creates :]
            progress(f"{kind}: {ALONE} creates one at a time")
            alone, created = await create_returns(driver, alone_orders, 1)
            progress(f"{kind}: {args.creates} creates 4 at a time")
            at_4, more = await create_returns(driver, low, 4)
            created += more
            progress(f"{kind}: {args.bare} bare workflows 32 at a time")
            bare = await measure_bare(stack.client, args.bare, 32)
            progress(f"{kind}: {args.creates} creates 32 at a time")
            at_32, more = await create_returns(driver, first_half, 32)
            created += more
            await settle(driver, created)
            progress(f"{kind}: reads 32 at a time for {args.read_seconds:.0f} s")
            paths = [f"/v1/returns/{return_id}" for return_id in created]
            reads = await wrk_reads(stack.api_url, stack.service_key, paths, 32, args.read_seconds)
            progress(f"{kind}: {2 * args.mixed} creates and reads, 50 at a time")
            at_50 = await mixed(driver, mixed_orders, created, 50)
        finally:
            await driver.close()
    create_ratio = at_32.figures()["per_s"] / bare["per_s"] if bare["per_s"] else 0.0
    return {
        "database": kind,
        "create_alone": alone.figures(),
        "create_at_4": at_4.figures(),
        "bare": {"per_s": round(bare["per_s"], 1), "latency_ms": bare["latency_ms"]},
        "create_at_32": {**at_32.figures(), "ratio_to_bare": round(create_ratio, 3)},
        "read_at_32": reads,
        "mixed_at_50": at_50.figures(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def verdicts(result: dict[str, Any]) -> dict[str, bool]:
    at_4, at_32, reads = result["create_at_4"], result["create_at_32"], result["read_at_32"]
    return {
        "create_at_4": at_4["errors"] == 0
        and at_4["ms"]["p50"] <= CREATE_P50_MS
        and at_4["ms"]["p99"] <= CREATE_P99_MS,
        "create_at_32": at_32["errors"] == 0 and at_32["ratio_to_bare"] >= CREATE_RATIO_MIN,
        "read_at_32": reads["errors"] == 0 and reads["per_s"] >= READS_PER_S_MIN and reads["ms"]["p99"] <= READ_P99_MS,
        "mixed_at_50": result["mixed_at_50"]["errors"] == 0,
    }


def print_table(results: dict[str, Any]) -> None:
    s = results["settings"]
    print(
        f"\nreturnflow bench api: {s['creates']} creates a phase, API {s['api_processes']} processes, return worker "
        f"its own process, {s['cpus']} CPUs"
    )
    for result in results["runs"]:
        ok = verdicts(result)
        at_4, at_32, reads, at_50 = (result[k] for k in ("create_at_4", "create_at_32", "read_at_32", "mixed_at_50"))
        print(f"  {result['database']} (load {result['load_average_1m']})")
        alone = result["create_alone"]["ms"]
        print(
            f"    POST /v1/returns at 1      p50 {alone.get('p50', 0):>6.0f} ms  p99 {alone.get('p99', 0):>6.0f} ms   "
            "a create alone (no target)"
        )
        p50, p99 = at_4["ms"].get("p50", 0), at_4["ms"].get("p99", 0)
        print(
            f"    POST /v1/returns at 4      p50 {p50:>6.0f} ms  p99 {p99:>6.0f} ms   "
            f"target ≤ {CREATE_P50_MS:.0f} / ≤ {CREATE_P99_MS:.0f} ms  {verdict(ok['create_at_4'])}"
        )
        print(
            f"    POST /v1/returns at 32     {at_32['per_s']:>6.1f}/s ÷ bare {result['bare']['per_s']:.1f} wf/s = "
            f"{at_32['ratio_to_bare']:.2f}   target ≥ {CREATE_RATIO_MIN}  {verdict(ok['create_at_32'])}"
        )
        print(
            f"    GET /v1/returns/{{id}} at 32 {reads['per_s']:>6.0f}/s  p99 {reads['ms'].get('p99', 0):>6.0f} ms   "
            f"target ≥ {READS_PER_S_MIN:.0f}/s, ≤ {READ_P99_MS:.0f} ms  {verdict(ok['read_at_32'])}"
        )
        print(
            f"    errors at 50              {at_50['errors']:>6} of {at_50['ok'] + at_50['errors']}   "
            f"target 0  {verdict(ok['mixed_at_50'])}"
        )
        for phase in (result["create_alone"], at_4, at_32, reads, at_50):
            for error in phase["error_sample"]:
                print(f"    ERROR {error}")
    print(f"  runtime {results['runtime_s']:.0f} s")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    require_wrk()
    began = time.perf_counter()
    runs = [asyncio.run(run_on(kind.strip(), args)) for kind in args.databases.split(",") if kind.strip()]
    results = {
        "settings": {"creates": args.creates, "api_processes": args.api_processes, "cpus": os.cpu_count()},
        "runs": runs,
        "runtime_s": round(time.perf_counter() - began, 1),
    }
    print_table(results)
    write_results(args.output, results)
    return 0 if all(all(verdicts(run).values()) for run in runs) else 1
