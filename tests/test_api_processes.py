"""Two API processes on one database, as behind a load balancer: real uvicorn subprocesses, started the way
the dev stack starts the API (``returnflow.stack_components.api``), on free ports.

- the creation rate limit holds across both (its buckets are rows of the database);
- the same Idempotency-Key sent to both at once makes one return, and both answers are the same bytes;
- a retry after the process holding a key in flight was SIGKILLed takes the key over once the short
  lease lapses (seconds, not the two minutes it used to be);
- SIGTERM lets a process finish the request it is answering before it exits.

Slow requests are made slow by the sandbox: a ``slow`` fault on the carrier's pickup slots, which the API
asks before it answers ``GET /v1/pickup-slots`` and before it decides a pickup return.
"""

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from returnflow import stack_components
from returnflow.settings import Settings
from store.api_keys import create_api_key
from store.db import Database
from tests.api_client import Callers, default_policy, put_order
from tests.conftest import running_worker, settings_for
from tests.factories import return_body
from tests.tls_proxy import stop

BURST = 4  # creations one caller may make at once; then one a minute, so none more during a test
LEASE_SECONDS = 3  # the in-flight lease on an Idempotency-Key in these processes


@dataclass
class ApiProcess:
    url: str
    process: asyncio.subprocess.Process


@dataclass
class TwoApis:
    settings: Settings
    database: Database
    processes: tuple[ApiProcess, ApiProcess]
    sandbox: httpx.AsyncClient
    temporal: WorkflowEnvironment
    log_dir: Path

    async def callers(self, process: ApiProcess) -> Callers:
        """A new service and operator key (a caller of its own, with a full rate bucket) on ``process``."""
        async with self.database.transaction() as session:
            _, service_key = await create_api_key(session, "service")
            _, operator_key = await create_api_key(session, "operator")

        def client(key: str | None) -> httpx.AsyncClient:
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            return httpx.AsyncClient(base_url=process.url, headers=headers, timeout=60)

        return Callers(client(service_key), client(operator_key), client(None), self.sandbox, self.temporal.client)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def api_process(settings: Settings, log_dir: Path) -> AsyncIterator[ApiProcess]:
    """``uvicorn api.app:create_app --factory`` in a process of its own, until it answers /health/live."""
    component = stack_components.api(settings.model_copy(update={"api_port": free_port()}))
    url = stack_components.api_url(settings.model_copy(update={"api_port": component.ports[0][1]}))
    log = log_dir / f"api-{component.ports[0][1]}.log"
    with log.open("ab") as output:
        process = await asyncio.create_subprocess_exec(
            *component.argv, env=component.env, cwd=stack_components.ROOT, stdout=output, stderr=output
        )
    try:
        async with httpx.AsyncClient(timeout=2) as probe:
            for _ in range(600):
                if process.returncode is not None:
                    raise AssertionError(f"the API exited with {process.returncode}:\n{log.read_text()[-3000:]}")
                try:
                    if (await probe.get(url + "/health/live")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"the API at {url} did not answer within 60 s:\n{log.read_text()[-3000:]}")
        yield ApiProcess(url, process)
    finally:
        # SIGTERM first: a supervisor of several processes stops them (SIGKILLed, it would leave them running).
        await stop(process)


@pytest.fixture(scope="module")
async def two_apis(
    local_env: WorkflowEnvironment, database: Database, sandbox_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TwoApis]:
    """Two API processes on ``database``, with a worker (in this process) for the returns they start."""
    log_dir = tmp_path_factory.mktemp("api-processes")
    settings = settings_for(sandbox_url, database).model_copy(
        update={
            "temporal_address": local_env.client.service_client.config.target_host,
            "data_dir": log_dir,
            "session_secret": SecretStr("two-api-processes-share-this-secret-" + secrets.token_hex(8)),
            "create_rate_per_minute": 1,
            "create_rate_burst": BURST,
            "idempotency_lock_seconds": LEASE_SECONDS,
            "log_format": "json",
            "log_level": "WARNING",
        }
    )
    async with (
        running_worker(local_env.client, settings, database),
        api_process(settings, log_dir) as first,
        api_process(settings, log_dir) as second,
        httpx.AsyncClient(base_url=sandbox_url) as sandbox,
    ):
        yield TwoApis(settings, database, (first, second), sandbox, local_env, log_dir)
        await sandbox.delete("/sandbox/faults")


async def slow_carrier(apis: TwoApis, seconds: float) -> None:
    fault = {"operation": "carrier.pickup_slots", "mode": "slow", "delay_seconds": seconds}
    (await apis.sandbox.post("/sandbox/faults", json=fault)).raise_for_status()


async def until_the_carrier_is_asked(apis: TwoApis, pending: "asyncio.Task[Any]") -> None:
    """Until the slow fault is met: the request is inside the API, waiting on the carrier."""
    for _ in range(300):
        if not (await apis.sandbox.get("/sandbox/faults")).json()["items"]:
            return
        assert not pending.done(), pending.result()
        await asyncio.sleep(0.1)
    raise AssertionError("the slow request never reached the carrier")


async def test_the_creation_rate_holds_across_two_api_processes(two_apis: TwoApis) -> None:
    callers = [await two_apis.callers(process) for process in two_apis.processes]
    same_caller = callers[1].service.headers["authorization"]
    callers[0].service.headers["authorization"] = same_caller  # one caller, through both processes
    body = return_body(order_id="no-such-order")

    answers = await asyncio.gather(*(callers[n % 2].service.post("/v1/returns", json=body) for n in range(10)))

    statuses = [answer.status_code for answer in answers]
    assert sorted(statuses) == [422] * BURST + [429] * (10 - BURST), statuses  # 422: no such order
    refused = next(answer for answer in answers if answer.status_code == 429)
    assert int(refused.headers["retry-after"]) >= 1
    assert {answer.request.url.port for answer in answers if answer.status_code == 429} == {
        int(process.url.rsplit(":", 1)[1]) for process in two_apis.processes
    }, "both processes refused some: they count in one bucket"


async def test_one_key_sent_to_both_processes_at_once_makes_one_return_answered_twice_alike(
    two_apis: TwoApis,
) -> None:
    first, second = [await two_apis.callers(process) for process in two_apis.processes]
    second.service.headers["authorization"] = first.service.headers["authorization"]
    await default_policy(first)
    order_id = await put_order(first)
    raw = json.dumps(return_body(order_id=order_id)).encode()
    headers = {"Idempotency-Key": "both-" + secrets.token_hex(4), "content-type": "application/json"}

    async def answered(client: httpx.AsyncClient) -> httpx.Response:
        for _ in range(300):  # 409: the other process holds the key and has not answered yet
            response = await client.post("/v1/returns", content=raw, headers=headers)
            if response.status_code != 409:
                return response
            await asyncio.sleep(0.1)
        raise AssertionError("the key stayed in flight")

    one, other = await asyncio.gather(answered(first.service), answered(second.service))

    assert one.status_code == other.status_code == 201, (one.text, other.text)
    assert one.content == other.content
    assert sorted(r.headers.get("idempotent-replayed", "") for r in (one, other)) == ["", "true"]
    listed = (await first.service.get("/v1/returns", params={"order_id": order_id})).json()["items"]
    assert [r["id"] for r in listed] == [one.json()["id"]]


async def test_a_retry_takes_a_key_over_seconds_after_the_process_holding_it_was_killed(
    two_apis: TwoApis,
) -> None:
    survivor = await two_apis.callers(two_apis.processes[0])
    await default_policy(survivor)
    order_id = await put_order(survivor)
    slots = (await survivor.service.get("/v1/pickup-slots", params={"order_id": order_id})).json()["items"]
    body = json.dumps(return_body(order_id=order_id, logistics={"method": "pickup", "pickup_slot": slots[0]}))
    headers = {"Idempotency-Key": "killed-" + secrets.token_hex(4), "content-type": "application/json"}
    async with api_process(two_apis.settings, two_apis.log_dir) as doomed:
        doomed_client = httpx.AsyncClient(base_url=doomed.url, headers=survivor.service.headers, timeout=60)
        await slow_carrier(two_apis, 30)
        holding = asyncio.create_task(doomed_client.post("/v1/returns", content=body, headers=headers))
        await until_the_carrier_is_asked(two_apis, holding)

        doomed.process.kill()  # SIGKILL while it holds the key in flight
        await doomed.process.wait()
        with pytest.raises(httpx.TransportError):
            await holding
        await doomed_client.aclose()

    loop = asyncio.get_running_loop()
    killed_at = loop.time()
    statuses = []
    while loop.time() < killed_at + 60:
        retry = await survivor.service.post("/v1/returns", content=body, headers=headers)
        statuses.append(retry.status_code)
        if retry.status_code != 409:
            break
        await asyncio.sleep(0.25)
    taken_over_after = loop.time() - killed_at

    assert statuses[0] == 409, "right after the kill the key is still leased"
    assert retry.status_code == 201, retry.text
    assert taken_over_after < LEASE_SECONDS + 10, f"taken over after {taken_over_after:.1f} s"
    listed = (await survivor.service.get("/v1/returns", params={"order_id": order_id})).json()["items"]
    assert [r["id"] for r in listed] == [retry.json()["id"]]


async def test_sigterm_lets_an_api_process_finish_the_request_it_is_answering(two_apis: TwoApis) -> None:
    async with api_process(two_apis.settings, two_apis.log_dir) as stopping:
        callers = await two_apis.callers(stopping)
        order_id = await put_order(callers)
        await slow_carrier(two_apis, 4)
        slow = asyncio.create_task(callers.service.get("/v1/pickup-slots", params={"order_id": order_id}))
        await until_the_carrier_is_asked(two_apis, slow)

        stopping.process.terminate()
        answer = await slow
        exit_status = await asyncio.wait_for(stopping.process.wait(), timeout=30)

    assert answer.status_code == 200, answer.text
    assert len(answer.json()["items"]) == 10
    assert exit_status == -signal.SIGTERM, "it drained, then exited by the signal (uvicorn re-raises it)"


def _children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended meanwhile
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def _tcp_sockets_on(port: int, state: str) -> set[str]:
    """The inodes of the TCP sockets whose local port is ``port``, in ``state`` (01 established, 0A listening)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                inodes.add(fields[9])
    return inodes


def _held_by(pid: int, inodes: set[str]) -> int:
    held = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            held += target.startswith("socket:[") and target[8:-1] in inodes
    return held


async def test_connections_opened_at_once_spread_over_the_api_processes_of_one_port(
    local_env: WorkflowEnvironment, database: Database, sandbox_url: str, tmp_path: Path
) -> None:
    """``RETURNFLOW_API_PROCESSES=2``: each process listens on a socket of its own (api/processes.py), so
    32 keep-alive connections a client opens together do not all land on the process that woke first."""
    settings = settings_for(sandbox_url, database).model_copy(
        update={
            "temporal_address": local_env.client.service_client.config.target_host,
            "data_dir": tmp_path,
            "api_processes": 2,
            "log_level": "WARNING",
        }
    )
    async with api_process(settings, tmp_path) as api:
        port = int(api.url.rsplit(":", 1)[1])
        for _ in range(300):  # the supervisor answers once one process does; wait for the second
            listening = _tcp_sockets_on(port, "0A")
            # The listening children (the supervisor also has multiprocessing's resource tracker).
            children = [child for child in _children(api.process.pid) if _held_by(child, listening)]
            if len(children) == 2:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the second API process never listened")
        connections = await asyncio.gather(*(asyncio.open_connection("127.0.0.1", port) for _ in range(32)))
        try:
            await asyncio.sleep(0.3)  # both have accepted what the kernel gave them
            established = _tcp_sockets_on(port, "01")
            held = sorted(_held_by(child, established) for child in children)
        finally:
            for _, writer in connections:
                writer.close()
    assert sum(held) == 32
    # A hash spreads them: fewer than 4 of 32 on one of two processes has a chance of about one in a million.
    assert held[0] >= 4, held
