"""Returns driven to their end over HTTP while things break, then the invariants checked.

One run (``run_chaos``):

1. A whole stack comes up (``bench.stack.running_stack``): the Temporal dev server, the sandbox
   partners, the API, and the return worker as its own process (``python worker.py``), on a fresh
   throw-away PostgreSQL database (dropped afterwards) or a SQLite file.
2. N returns are created and driven concurrently, as the backend, the carrier and the warehouse
   would: create, carrier scans ``picked_up`` and ``delivered``, inspection; some are created under
   a policy without the store-credit fallback, some ask for store credit, some are canceled while
   awaiting shipment (nothing may be paid for those). A return that stops in ``needs_attention``
   because its refund failed is resolved as an operator would (``retry_refund``) until it ends.
   Every 503 and every dropped connection is retried, as a client should.
3. Meanwhile, for a bounded time and number of times, a chaos loop SIGKILLs the worker and starts
   it again, terminates every PostgreSQL connection of the app's database, and queues payment
   faults in the sandbox (declines, 503s, calls slower than the partner timeout).
4. Once the chaos window closes, the worker is left running (faults already queued stay, for the
   refunds still to come), and the returns get ``settle_seconds`` more to end. Then the invariants:

   - every return ended (a final status), or waits with an attention offering actions (reported);
   - each return ended as it was driven (completed, or canceled for the canceled ones);
   - exactly one payout (refund or store credit) in the payments sandbox per paid return, none
     for an unpaid one;
   - the ledger agrees with the sandbox (same idempotency keys and amounts) and with the refund;
   - no HTTP answer was a 5xx other than 503;
   - no workflow execution is Failed in Temporal.

Everything it talks to is on 127.0.0.1; a PostgreSQL URL elsewhere is refused.
"""

import asyncio
import json
import os
import random
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

import asyncpg
import httpx

from bench.databases import throwaway_postgres
from bench.drive import INSPECTION, RETURN_BODY, order_body
from bench.stack import Stack, running_stack
from domain.policy import DEFAULT_POLICY

FINAL = frozenset({"completed", "rejected", "canceled", "expired"})
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"

Kind = Literal["refund", "refund_no_fallback", "store_credit", "cancel"]
# Return i is of kind KINDS[i % len(KINDS)]: most are paid, one in six is canceled before it ships.
KINDS: tuple[Kind, ...] = ("refund", "refund_no_fallback", "store_credit", "refund", "cancel", "refund_no_fallback")

# The payment faults the chaos loop queues, in turn. "slow" past the worker's 10 s partner timeout
# makes the activity retry while the first call is still running: the sandbox must pay only once.
FAULTS: tuple[dict[str, Any], ...] = (
    {"operation": "payments.refund", "mode": "decline", "times": 2},
    {"operation": "payments.refund", "mode": "unavailable", "times": 2},
    {"operation": "payments.refund", "mode": "slow", "delay_seconds": 12},
    {"operation": "payments.store_credit", "mode": "unavailable"},
    {"operation": "payments.refund", "mode": "decline"},
    {"operation": "payments.refund", "mode": "slow", "delay_seconds": 2},
)
MAX_PENDING_FAULTS = 3  # do not let faults pile up ahead of the refunds that would meet them


@dataclass
class ChaosConfig:
    returns: int = 12
    seconds: float = 60.0  # the chaos window (it closes earlier once every return has ended)
    database: Literal["postgresql", "sqlite"] = "postgresql"
    kill_every: float = 8.0  # seconds from a worker's first poll to its SIGKILL (±25 %)
    workers: int = 1  # worker processes on the task queue; the chaos loop kills the first
    restart_killed: bool = True  # start the killed worker again (else the others carry on without it)
    kinds: tuple[Kind, ...] = KINDS  # return i is of kind kinds[i % len(kinds)]
    terminate_every: float = 5.0  # seconds between two rounds of pg_terminate_backend
    fault_every: float = 3.0  # seconds between two payment faults
    max_kills: int = 100
    max_terminations: int = 200
    max_faults: int = 200
    settle_seconds: float = 150.0  # after the window: time left for the returns to end
    concurrency: int = 100  # returns driven at once (each mostly waits: staggered pick-ups, polls)
    poll_interval: float = 0.3
    http_timeout: float = 60.0  # what a caller of the API waits for one answer
    # The parcels are picked up spread over this share of the window, each step after a short pause,
    # so that the returns are at every step while the worker dies (not all done in the first seconds).
    spread: float = 0.6
    pause: float = 1.5  # at most, between two steps of one return
    seed: int | None = None
    postgres_url: str = field(
        default_factory=lambda: os.environ.get(
            "RETURNFLOW_CHAOS_POSTGRES_URL", os.environ.get("RETURNFLOW_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
        )
    )


@dataclass
class Invariant:
    name: str
    passed: bool
    detail: str = ""
    xfail: bool = False  # a known product bug: reported, does not fail the run (see chaos/README)


@dataclass
class ReturnOutcome:
    index: int
    kind: Kind
    order_id: str
    return_id: str = ""
    status: str = ""
    statuses_seen: list[str] = field(default_factory=list)
    resolutions: int = 0
    attention: dict[str, Any] | None = None
    error: str = ""
    body: dict[str, Any] = field(default_factory=dict)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    store_credits: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ChaosReport:
    config: ChaosConfig
    outcomes: list[ReturnOutcome] = field(default_factory=list)
    kills: int = 0
    worker_starts: int = 0
    worker_down_seconds: float = 0.0  # from each SIGKILL until the next worker polls
    terminations: int = 0  # rounds of pg_terminate_backend
    connections_terminated: int = 0  # backends those rounds ended
    faults: Counter[str] = field(default_factory=Counter)  # "operation mode" -> queued
    faults_unmet: int = 0
    http_statuses: Counter[int] = field(default_factory=Counter)
    http_errors: Counter[str] = field(default_factory=Counter)  # transport errors by class
    server_errors: list[str] = field(default_factory=list)  # 5xx other than 503
    worker_log: Counter[str] = field(default_factory=Counter)  # "level exception" -> lines of worker.log
    slowest: dict[str, float] = field(default_factory=dict)  # "METHOD route" -> the longest answer, seconds
    failed_workflows: list[str] = field(default_factory=list)
    chaos_seconds: float = 0.0
    stack_seconds: float = 0.0  # bringing the stack up (migrations included)
    settle_seconds: float = 0.0  # from the window's close until the last return ended
    wall_seconds: float = 0.0
    invariants: list[Invariant] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(invariant.passed or invariant.xfail for invariant in self.invariants)

    def failed(self) -> list[Invariant]:
        return [invariant for invariant in self.invariants if not invariant.passed]

    def lines(self) -> list[str]:
        c = self.config
        statuses = Counter(o.status or "?" for o in self.outcomes)
        seen = Counter(s for o in self.outcomes for s in set(o.statuses_seen))
        out = [
            f"chaos: {len(self.outcomes)} returns on {c.database}, chaos for {self.chaos_seconds:.0f} s "
            f"(of {c.seconds:.0f}), {self.settle_seconds:.0f} s more to settle, "
            f"{self.wall_seconds:.0f} s in all ({self.stack_seconds:.0f} s to bring the stack up)",
            f"  kinds: {dict(Counter(o.kind for o in self.outcomes))}",
            f"  worker ({c.workers} processes, the first killed): {self.kills} SIGKILLs, {self.worker_starts} starts, "
            f"down {self.worker_down_seconds:.0f} s in all (from a kill until the next one polls)",
            f"  database: {self.terminations} rounds of pg_terminate_backend, "
            f"{self.connections_terminated} connections terminated",
            f"  payment faults queued: {dict(self.faults)} ({self.faults_unmet} uses left unmet at the end)",
            f"  operator resolutions (retry_refund): {sum(o.resolutions for o in self.outcomes)}",
            f"  final statuses: {dict(statuses)}",
            f"  statuses seen (returns that passed through each): {dict(seen)}",
            f"  HTTP answers by status: {dict(sorted(self.http_statuses.items()))}"
            + (f"; transport errors: {dict(self.http_errors)}" if self.http_errors else ""),
            "  slowest answers: "
            + ", ".join(f"{route} {seconds:.1f} s" for route, seconds in sorted(self.slowest.items()) if seconds >= 1)
            + (f" (a caller gives up after {c.http_timeout:.0f} s)" if self.http_errors else ""),
        ]
        if self.worker_log:
            out.append(f"  worker log: {dict(self.worker_log.most_common(8))}")
        out += [f"  note: {note}" for note in self.notes]
        for invariant in self.invariants:
            verdict = "PASS" if invariant.passed else ("XFAIL" if invariant.xfail else "FAIL")
            out.append(f"{verdict}  {invariant.name}" + (f": {invariant.detail}" if invariant.detail else ""))
        out.append("chaos: " + ("all invariants hold" if self.passed else "INVARIANTS FAILED"))
        return out


# --- the database -------------------------------------------------------------------------------


async def terminate_connections(database_url: str) -> int:
    """End every other connection to the app's database (the API's and the worker's pools)."""
    plain = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(plain)
    try:
        rows = await connection.fetch(
            "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await connection.close()
    return sum(1 for row in rows if row["ended"])


# --- HTTP, counted and retried ------------------------------------------------------------------


class Stuck(Exception):
    pass


class Http:
    """The API's callers (service, operator) and the sandbox; every answer is counted by status."""

    def __init__(self, stack: Stack, report: ChaosReport, deadline: Callable[[], float]) -> None:
        self.report = report
        self.deadline = deadline
        hooks = {"response": [self._count]}
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)

        def client(base_url: str, key: str | None) -> httpx.AsyncClient:
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            return httpx.AsyncClient(
                base_url=base_url, headers=headers, timeout=report.config.http_timeout, limits=limits, event_hooks=hooks
            )

        self.service = client(stack.api_url, stack.service_key)
        self.operator = client(stack.api_url, stack.operator_key)
        self.sandbox = httpx.AsyncClient(base_url=stack.sandbox_url, timeout=30)

    async def _count(self, response: httpx.Response) -> None:
        self.report.http_statuses[response.status_code] += 1
        if response.status_code >= 500 and response.status_code != 503:
            await response.aread()
            self.report.server_errors.append(
                f"{response.request.method} {response.request.url.path} -> {response.status_code}: "
                f"{response.text[:300]}"
            )

    async def close(self) -> None:
        for client in (self.service, self.operator, self.sandbox):
            await client.aclose()

    async def send(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str,
        *,
        retry_conflict: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send until the answer is neither a 5xx nor a dropped connection (nor a 409 if asked)."""
        route = f"{method} " + re.sub(r"ret_[0-9a-f]+|chaos-[0-9a-f]+-[0-9]+", "{id}", url.split("?")[0])
        while True:
            sent = time.monotonic()
            try:
                response = await client.request(method, url, **kwargs)
            except httpx.TransportError as error:
                self.report.http_errors[f"{type(error).__name__} {route}"] += 1
            else:
                took = time.monotonic() - sent
                self.report.slowest[route] = max(self.report.slowest.get(route, 0.0), took)
                retry = response.status_code >= 500 or (retry_conflict and response.status_code == 409)
                if not retry:
                    return response
            if time.monotonic() > self.deadline():
                raise Stuck(f"{method} {url} kept failing until the deadline")
            await asyncio.sleep(0.5)


def _expect(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    if response.status_code not in statuses:
        raise Stuck(
            f"{response.request.method} {response.request.url.path} answered {response.status_code}: "
            f"{response.text[:300]}"
        )
    body: dict[str, Any] = response.json()
    return body


# --- driving one return -------------------------------------------------------------------------


class Driver:
    def __init__(self, http: Http, config: ChaosConfig, run_id: str) -> None:
        self.http = http
        self.config = config
        self.run_id = run_id
        self.random = random.Random(config.seed)

    async def put_order(self, outcome: ReturnOutcome) -> None:
        body = order_body(f"C-{outcome.order_id}")
        _expect(await self.http.send(self.http.service, "PUT", f"/v1/orders/{outcome.order_id}", json=body), 200, 201)

    async def create(self, outcome: ReturnOutcome) -> None:
        body: dict[str, Any] = {"order_id": outcome.order_id, **RETURN_BODY}
        if outcome.kind == "store_credit":
            body["resolution"] = "store_credit"
        response = await self.http.send(
            self.http.service,
            "POST",
            "/v1/returns",
            json=body,
            headers={"Idempotency-Key": f"chaos-{outcome.order_id}"},
            retry_conflict=True,  # 409: the first try with this key is still running
        )
        created = _expect(response, 200, 201)
        outcome.return_id = created["id"]
        self._saw(outcome, created)

    async def drive(self, outcome: ReturnOutcome) -> None:
        """From created to the end: scans, inspection, an operator for failed refunds."""
        shipped = await self.until(outcome, "awaiting_shipment")
        if shipped["status"] != "awaiting_shipment":
            return
        await asyncio.sleep(outcome.index * self.config.seconds * self.config.spread / max(1, self.config.returns))
        if outcome.kind == "cancel":
            await self.act(outcome, "cancel", {"note": "chaos: the customer changed their mind"}, self.http.service)
            await self.until(outcome, "canceled")
            return
        tracking = shipped["logistics"]["tracking_number"]
        for event in ("picked_up", "delivered"):
            scan = {"tracking_number": tracking, "event": event, "occurred_at": _now()}
            _expect(await self.http.send(self.http.service, "POST", "/v1/carrier-events", json=scan), 202)
            await self._pause()
        received = await self.until(outcome, "received")
        if received["status"] != "received":
            return
        await self._pause()
        await self.act(outcome, "inspection", INSPECTION)
        await self.until(outcome, "completed")

    async def _pause(self) -> None:
        await asyncio.sleep(self.random.uniform(0, self.config.pause))

    async def act(
        self, outcome: ReturnOutcome, action: str, body: dict[str, Any], client: httpx.AsyncClient | None = None
    ) -> None:
        """POST an update on the return (as an operator unless ``client`` says otherwise); a 409 after a
        retried request usually means the first one took."""
        while True:
            url = f"/v1/returns/{outcome.return_id}/{action}"
            response = await self.http.send(client or self.http.operator, "POST", url, json=body)
            if response.status_code == 200:
                self._saw(outcome, response.json())
                return
            if response.status_code != 409:
                _expect(response, 200)
            current = await self.get(outcome)
            if action == "inspection" and current["status"] != "received":
                return
            if action == "cancel" and current["status"] != "awaiting_shipment":
                return
            if action == "resolve" and current.get("attention") is None:
                return
            if time.monotonic() > self.http.deadline():
                raise Stuck(f"{action} answered 409 until the deadline: {response.text[:300]}")
            await asyncio.sleep(1)

    async def get(self, outcome: ReturnOutcome) -> dict[str, Any]:
        response = await self.http.send(self.http.service, "GET", f"/v1/returns/{outcome.return_id}")
        body = _expect(response, 200)
        self._saw(outcome, body)
        return body

    async def until(self, outcome: ReturnOutcome, target: str) -> dict[str, Any]:
        """Poll until the return shows ``target`` or a final status; resolve failed refunds on the way.
        Another attention (no refund to retry) is left to a person: it is returned as it is."""
        while True:
            body = await self.get(outcome)
            status = body["status"]
            if status == target or status in FINAL:
                return body
            attention = body.get("attention")
            if status == "needs_attention" and attention:
                if attention["reason"] == "refund_failed" and "retry_refund" in attention["actions"]:
                    outcome.resolutions += 1
                    await self.act(outcome, "resolve", {"action": "retry_refund", "note": "chaos operator"})
                    continue
                outcome.attention = attention
                return body
            if time.monotonic() > self.http.deadline():
                raise Stuck(f"{outcome.return_id} stayed {status} until the deadline (waiting for {target})")
            await asyncio.sleep(self.config.poll_interval)

    @staticmethod
    def _saw(outcome: ReturnOutcome, body: dict[str, Any]) -> None:
        outcome.body = body
        outcome.status = body["status"]
        if not outcome.statuses_seen or outcome.statuses_seen[-1] != body["status"]:
            outcome.statuses_seen.append(body["status"])


def _now() -> str:
    return datetime.now(UTC).isoformat()


# --- the chaos loop -----------------------------------------------------------------------------


class Chaos:
    def __init__(self, stack: Stack, http: Http, report: ChaosReport, database_url: str | None) -> None:
        assert stack.worker is not None, "the chaos loop needs the worker as its own process"
        self.stack = stack
        self.worker = stack.worker
        self.http = http
        self.report = report
        self.database_url = database_url
        self.config = report.config
        self.random = random.Random(self.config.seed)

    def _jitter(self, seconds: float) -> float:
        return seconds * self.random.uniform(0.75, 1.25)

    async def run(self, done: asyncio.Event) -> None:
        """Until the window closes (or every return has ended), each kind of trouble in its own rhythm."""
        c, report = self.config, self.report
        start = time.monotonic()
        end = start + c.seconds
        next_kill = start + self._jitter(c.kill_every)
        next_terminate = start + self._jitter(c.terminate_every) if self.database_url else float("inf")
        next_fault = start + self._jitter(c.fault_every / 2)
        fault_turn = 0
        restarting: asyncio.Task[None] | None = None  # the killed worker's successor, until it polls
        try:
            while time.monotonic() < end and not done.is_set():
                now = time.monotonic()
                if restarting is None and now >= next_kill and report.kills < c.max_kills:
                    await self.worker.kill()
                    report.kills += 1
                    if c.restart_killed:
                        restarting = asyncio.create_task(self._restart(now))
                    else:
                        next_kill = float("inf")
                elif restarting is not None and restarting.done():
                    restarting.result()
                    restarting = None
                    # The next kill comes a while after this worker has started polling (not after it
                    # was spawned: starting takes seconds, and a worker killed while starting did nothing).
                    next_kill = time.monotonic() + self._jitter(c.kill_every)
                if now >= next_terminate and report.terminations < c.max_terminations:
                    assert self.database_url is not None
                    report.connections_terminated += await terminate_connections(self.database_url)
                    report.terminations += 1
                    next_terminate = now + self._jitter(c.terminate_every)
                if now >= next_fault and sum(report.faults.values()) < c.max_faults:
                    pending = (await self.http.sandbox.get("/sandbox/faults")).json()["items"]
                    if len(pending) < MAX_PENDING_FAULTS:
                        fault = FAULTS[fault_turn % len(FAULTS)]
                        fault_turn += 1
                        (await self.http.sandbox.post("/sandbox/faults", json=fault)).raise_for_status()
                        report.faults[f"{fault['operation']} {fault['mode']}"] += 1
                    next_fault = now + self._jitter(c.fault_every)
                await asyncio.sleep(0.2)
        finally:
            report.chaos_seconds = time.monotonic() - start
            # The window is closed: the worker runs. Faults already queued stay, for the refunds still to come.
            if restarting is not None:
                await restarting
            if not self.worker.running and c.restart_killed:
                await self.worker.start()
            report.worker_starts = self.worker.starts

    async def _restart(self, killed_at: float) -> None:
        await asyncio.sleep(self.random.uniform(0.2, 1.5))  # down for a moment
        await self.worker.start()
        self.report.worker_down_seconds += time.monotonic() - killed_at

    async def clear_faults(self) -> None:
        """Once every return has ended: the faults nobody met are counted and cleared."""
        pending = (await self.http.sandbox.get("/sandbox/faults")).json()["items"]
        self.report.faults_unmet = sum(fault["remaining"] for fault in pending)
        await self.http.sandbox.delete("/sandbox/faults")


# --- the run ------------------------------------------------------------------------------------


async def run_chaos(config: ChaosConfig) -> ChaosReport:
    report = ChaosReport(config=config)
    began = time.monotonic()
    if config.database == "postgresql":
        async with throwaway_postgres(config.postgres_url, prefix="returnflow_chaos_") as url:
            await _run_on(config, report, url)  # the stack migrates it
    else:
        await _run_on(config, report, None)
    report.wall_seconds = time.monotonic() - began
    return report


async def _run_on(config: ChaosConfig, report: ChaosReport, database_url: str | None) -> None:
    run_id = secrets.token_hex(3)
    report.outcomes = [
        ReturnOutcome(index=i, kind=config.kinds[i % len(config.kinds)], order_id=f"chaos-{run_id}-{i:04d}")
        for i in range(config.returns)
    ]
    began = time.monotonic()
    async with running_stack(
        worker_process=True, database_url=database_url, worker_log=True, workers=config.workers
    ) as stack:
        report.stack_seconds = time.monotonic() - began
        settle_deadline = float("inf")
        http = Http(stack, report, lambda: settle_deadline)
        driver = Driver(http, config, run_id)
        gate = asyncio.Semaphore(config.concurrency)
        done = asyncio.Event()
        chaos = Chaos(stack, http, report, database_url)
        chaos_task = asyncio.create_task(chaos.run(done))
        driving: asyncio.Task[None] | None = None
        try:
            # Orders first, then the returns: those without a store-credit fallback under such a policy.
            await _each(gate, driver.put_order, report.outcomes)
            with_fallback = [o for o in report.outcomes if o.kind != "refund_no_fallback"]
            without = [o for o in report.outcomes if o.kind == "refund_no_fallback"]
            await _each(gate, driver.create, with_fallback)
            if without:
                await _put_policy(http, {**DEFAULT_POLICY.model_dump(mode="json"), "refund_failure_fallback": "none"})
                await _each(gate, driver.create, without)
                await _put_policy(http, DEFAULT_POLICY.model_dump(mode="json"))

            async def drive_all() -> None:
                await _each(gate, driver.drive, report.outcomes)
                done.set()

            driving = asyncio.create_task(drive_all())
            await chaos_task  # the window closes: from now on the returns have settle_seconds to end
            closed = time.monotonic()
            settle_deadline = closed + config.settle_seconds
            await driving
            report.settle_seconds = time.monotonic() - closed
            await chaos.clear_faults()
            await _collect(http, report)
            report.failed_workflows = [
                f"{execution.workflow_type} {execution.id}"
                async for execution in stack.client.list_workflows("ExecutionStatus = 'Failed'")
            ]
        finally:
            done.set()
            for task in (chaos_task, driving):
                if task is not None and not task.done():
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
            await http.close()
            _read_worker_log(stack, report)
    check(report)


async def _each(gate: asyncio.Semaphore, job: Callable[[ReturnOutcome], Any], outcomes: list[ReturnOutcome]) -> None:
    """``job`` for each return, a bounded number at once; a return whose job fails records why."""

    async def one(outcome: ReturnOutcome) -> None:
        if outcome.error:
            return
        async with gate:
            try:
                await job(outcome)
            except (Stuck, httpx.HTTPError) as failure:
                outcome.error = f"{type(failure).__name__}: {failure}"

    await asyncio.gather(*(one(outcome) for outcome in outcomes))


async def _put_policy(http: Http, policy: dict[str, Any]) -> None:
    _expect(await http.send(http.service, "PUT", "/v1/policy", json=policy), 200)


async def _collect(http: Http, report: ChaosReport) -> None:
    for outcome in report.outcomes:
        if not outcome.return_id:
            continue
        params = {"reference": outcome.return_id}
        outcome.refunds = (await http.sandbox.get("/payments/refunds", params=params)).json()["items"]
        outcome.store_credits = (await http.sandbox.get("/payments/store-credits", params=params)).json()["items"]


def _read_worker_log(stack: Stack, report: ChaosReport) -> None:
    """What the worker processes logged (warnings and worse, as JSON): counted by the exception they
    carry; when the run went wrong, the last lines too (the folder is deleted afterwards)."""
    log = stack.workdir / "worker.log"
    if not log.exists():
        return
    lines = log.read_text(errors="replace").splitlines()
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            exc = entry.get("exc_info")
            cause = exc[1].split("(")[0] if isinstance(exc, list) and len(exc) > 1 else entry.get("event", "")[:60]
            report.worker_log[f"{entry.get('level', '?')} {cause}"] += 1
    if report.server_errors or any(not o.status or o.error for o in report.outcomes):
        report.notes.append("worker.log (last lines):\n    " + "\n    ".join(lines[-20:]))


# --- the invariants -----------------------------------------------------------------------------


def check(report: ChaosReport) -> None:
    outcomes = report.outcomes
    add = report.invariants.append

    def way_forward(o: ReturnOutcome) -> str:
        """``reason [actions]`` when the return waits for a person who has something to do, else ''."""
        if o.status in FINAL or not o.attention or not o.attention.get("actions"):
            return ""
        return f"{o.attention['reason']} {o.attention['actions']}"

    unended = [o for o in outcomes if o.status not in FINAL and not way_forward(o)]
    waiting = [o for o in outcomes if way_forward(o)]
    add(
        Invariant(
            "every return ended, or waits for a person with actions offered",
            not unended,
            "; ".join(f"{_name(o)} {o.status or 'never created'} {o.error}".strip() for o in unended)
            or (
                "waiting: " + "; ".join(f"{_name(o)} {way_forward(o)}" for o in waiting)
                if waiting
                else f"{len(outcomes)} final"
            ),
        )
    )

    def expected(o: ReturnOutcome) -> str:
        return "canceled" if o.kind == "cancel" else "completed"

    astray = [o for o in outcomes if o.status in FINAL and o.status != expected(o)]
    add(
        Invariant(
            "each return ended as driven (completed; canceled for the canceled ones)",
            not astray,
            "; ".join(f"{_name(o)} {o.kind} ended {o.status}: {o.statuses_seen}" for o in astray),
        )
    )

    payouts_wrong = []
    for o in outcomes:
        if not o.return_id:
            continue
        count = len(o.refunds) + len(o.store_credits)
        paid = o.status == "completed"
        if (paid and count != 1) or (o.status in FINAL and not paid and count != 0):
            payouts_wrong.append(f"{_name(o)} {o.status}: {len(o.refunds)} refunds, {len(o.store_credits)} credits")
    paid_count = sum(1 for o in outcomes if o.status == "completed")
    add(
        Invariant(
            "exactly one refund or store credit per paid return, none for an unpaid one",
            not payouts_wrong,
            "; ".join(payouts_wrong)
            or f"{paid_count} paid once ({sum(len(o.store_credits) for o in outcomes)} as store credit), "
            f"{sum(1 for o in outcomes if o.status in FINAL and o.status != 'completed')} unpaid",
        )
    )

    disagreements = []
    for o in outcomes:
        if not o.return_id or o.status not in FINAL:
            continue
        provider = sorted((p["idempotency_key"], Decimal(p["amount"])) for p in o.refunds + o.store_credits)
        ledger = sorted(
            (m["idempotency_key"], Decimal(m["amount"]))
            for m in o.body.get("money", [])
            if m["kind"] in ("refund", "store_credit")
        )
        if provider != ledger:
            disagreements.append(f"{_name(o)}: sandbox {provider} vs ledger {ledger}")
        elif o.status == "completed" and sum(amount for _, amount in ledger) != Decimal(o.body["refund"]["amount"]):
            disagreements.append(f"{_name(o)}: ledger pays {ledger}, the refund says {o.body['refund']['amount']}")
    add(
        Invariant(
            "the ledger agrees with the payments sandbox and the refund", not disagreements, "; ".join(disagreements)
        )
    )

    statuses = dict(sorted(report.http_statuses.items()))
    add(
        Invariant(
            "no HTTP answer was a 5xx other than 503",
            not report.server_errors,
            "; ".join(report.server_errors[:5]) or f"{statuses}",
        )
    )
    add(
        Invariant(
            "no workflow execution Failed in Temporal",
            not report.failed_workflows,
            "; ".join(report.failed_workflows[:10]),
        )
    )


def _name(outcome: ReturnOutcome) -> str:
    return outcome.return_id or outcome.order_id
