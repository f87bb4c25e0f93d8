"""Connecting to a secured Temporal: TLS and mutual TLS through a real proxy (nginx in front of the dev server),
returns run through it (also by two worker processes, one killed), the clear errors of settings that cannot
work, and the worker and the API waiting for Temporal at start-up."""

import asyncio
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from bench.stack import WorkerProcess
from returnflow.serve import serve_app
from returnflow.settings import Settings
from returnflow.stack_components import worker_polling
from returnflow.temporal import TemporalMisconfigured, TemporalUnreachable, connect, tls_config
from store.api_keys import create_api_key
from store.db import Database
from tests.api_client import Callers, put_order, wait_for_status
from tests.conftest import running_worker, settings_for
from tests.factories import return_body
from tests.return_journeys import AS_NEW, deliver, new_return
from tests.tls_proxy import Certificates, grpc_tls_proxy, make_certificates, stop

WORKER = Path(__file__).resolve().parents[1] / "worker.py"
# Generous: two cores shared by many test runs. The worker's start (imports) alone takes seconds there.
PATIENCE_SECONDS = 60.0
# Each refund call is held this long by the sandbox: long enough for all of them to be in flight at once.
REFUND_HELD_SECONDS = 5
TASK_TIMED_OUT = EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certificates"))


def dev_server(local_env: WorkflowEnvironment) -> str:
    return local_env.client.service_client.config.target_host


def mutual_tls(certificates: Certificates) -> dict[str, object]:
    return {
        "temporal_tls_ca_file": certificates.ca,
        "temporal_tls_cert_file": certificates.client_cert,
        "temporal_tls_key_file": certificates.client_key,
    }


def mutual_tls_variables(certificates: Certificates) -> dict[str, str]:
    """``mutual_tls`` as a process's environment (``RETURNFLOW_TEMPORAL_TLS_CA_FILE``...)."""
    return {f"RETURNFLOW_{name.upper()}": str(value) for name, value in mutual_tls(certificates).items()}


def behind_proxy(
    proxy: str, local_env: WorkflowEnvironment, certificates: Certificates, sandbox_url: str, database: Database
) -> Settings:
    """The tests' settings for a process that reaches the dev server through the mutual TLS ``proxy`` only."""
    return settings_for(sandbox_url, database).model_copy(
        update={"temporal_address": proxy, "temporal_namespace": local_env.client.namespace, **mutual_tls(certificates)}
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- the settings ------------------------------------------------------------------------------


def test_tls_is_off_unless_a_setting_asks_for_it(certificates: Certificates) -> None:
    assert tls_config(Settings()) is False
    api_key = {"temporal_api_key": SecretStr("key")}
    for update in ({"temporal_tls": True}, api_key, {"temporal_tls_ca_file": certificates.ca}):
        assert tls_config(Settings().model_copy(update=update)) is not False, update
    mtls = tls_config(Settings().model_copy(update=mutual_tls(certificates)))
    assert not isinstance(mtls, bool)
    assert mtls.server_root_ca_cert == certificates.ca.read_bytes()
    assert mtls.client_cert == certificates.client_cert.read_bytes()


def test_settings_that_cannot_work_say_which_and_why(certificates: Certificates, tmp_path: Path) -> None:
    half = Settings().model_copy(update={"temporal_tls_cert_file": certificates.client_cert})
    with pytest.raises(TemporalMisconfigured, match="TEMPORAL_TLS_CERT_FILE is set without"):
        tls_config(half)
    missing = Settings().model_copy(update={"temporal_tls_ca_file": tmp_path / "nowhere.pem"})
    with pytest.raises(TemporalMisconfigured, match=r"TEMPORAL_TLS_CA_FILE: cannot read .*nowhere\.pem"):
        tls_config(missing)
    (tmp_path / "not.pem").write_text("hello")
    not_pem = Settings().model_copy(update={"temporal_tls_ca_file": tmp_path / "not.pem"})
    with pytest.raises(TemporalMisconfigured, match="is not a PEM file"):
        tls_config(not_pem)


# ---- through the proxy -------------------------------------------------------------------------


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # what is tested is the connection, not the store
async def test_a_whole_return_runs_with_the_api_and_the_worker_behind_a_mutual_tls_proxy(
    local_env: WorkflowEnvironment,
    database: Database,
    sandbox_url: str,
    sandbox: httpx.AsyncClient,
    certificates: Certificates,
    tmp_path: Path,
) -> None:
    async with grpc_tls_proxy(tmp_path, dev_server(local_env), certificates, verify_client=True) as proxy:
        settings = behind_proxy(proxy, local_env, certificates, sandbox_url, database)
        worker_client = await connect(settings)
        async with (
            running_worker(worker_client, settings, database),
            api_behind_proxy(settings, database, sandbox) as api,
        ):
            created = await new_return(api)
            await deliver(api, created["id"])
            inspected = await api.operator.post(f"/v1/returns/{created['id']}/inspection", json=AS_NEW)
            assert inspected.status_code == 200, inspected.text
            done = await wait_for_status(api, created["id"], "completed")

            assert done["refund"]["status"] == "succeeded"
            refunds = await refunds_of(sandbox, created["id"])
            assert [refund["amount"] for refund in refunds] == [done["refund"]["amount"]] == ["19.99"]
            run = await worker_client.get_workflow_handle(created["id"]).describe()
            assert run.task_queue == settings.task_queue  # polled by this worker only, through the proxy
            assert api.temporal.service_client.config.target_host == proxy


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_returns_through_the_proxy_are_refunded_once_when_one_of_two_worker_processes_is_killed_paying(
    local_env: WorkflowEnvironment,
    database: Database,
    sandbox_url: str,
    sandbox: httpx.AsyncClient,
    certificates: Certificates,
    tmp_path: Path,
) -> None:
    """Issue 12: two ``python worker.py`` processes and the API, every one through nginx with mutual TLS. The
    worker holding most of the returns is SIGKILLed while their refunds are at the payment provider: its
    workflow tasks time out, the other worker redoes them, and the refunds' idempotency keys make its calls
    replays of the first ones."""
    async with grpc_tls_proxy(tmp_path, dev_server(local_env), certificates, verify_client=True) as proxy:
        settings = behind_proxy(proxy, local_env, certificates, sandbox_url, database)
        client = await connect(settings)
        # No Schedules: their housekeeping runs would share the workers, and outlive the test on the dev server.
        variables = {**mutual_tls_variables(certificates), "RETURNFLOW_TEMPORAL_SETUP_ON_START": "false"}
        workers = [WorkerProcess(client, settings, tmp_path, variables) for _ in range(2)]
        try:
            await asyncio.gather(*(worker.start() for worker in workers))  # each polls through the proxy
            async with api_behind_proxy(settings, database, sandbox) as api:
                return_ids = [created["id"] for created in await asyncio.gather(*(new_return(api) for _ in range(5)))]
                await asyncio.gather(*(deliver(api, return_id) for return_id in return_ids))
                # A return's next task goes to the worker that did its last one (it has it cached).
                holders = [last_task_by(await history(api, return_id), workers) for return_id in return_ids]
                killed = max(workers, key=holders.count)
                survivor = next(worker for worker in workers if worker is not killed)
                held = {"operation": "payments.refund", "mode": "slow", "delay_seconds": REFUND_HELD_SECONDS}
                assert (await sandbox.post("/sandbox/faults", json={**held, "times": 5})).status_code == 201
                inspections = [
                    asyncio.create_task(api.operator.post(f"/v1/returns/{return_id}/inspection", json=AS_NEW))
                    for return_id in return_ids
                ]
                await until(lambda: no_faults_left(sandbox), "every refund is at the payment provider")

                await killed.kill()
                killed_at = datetime.now(UTC)

                for inspected in await asyncio.gather(*inspections):
                    assert inspected.status_code == 200, inspected.text
                done = [await wait_for_status(api, return_id, "completed") for return_id in return_ids]
                refunds = [await refunds_of(sandbox, return_id) for return_id in return_ids]
                histories = [await history(api, return_id) for return_id in return_ids]
            assert survivor.running
        finally:
            await asyncio.gather(*(worker.stop() for worker in workers))

    assert [len(paid) for paid in refunds] == [1] * 5, refunds
    assert [paid[0]["amount"] for paid in refunds] == [body["refund"]["amount"] for body in done] == ["19.99"] * 5
    after_the_kill = [
        identity for events in histories for when, identity in task_completions(events) if when > killed_at
    ]
    assert after_the_kill and all(survivor.is_identity(identity) for identity in after_the_kill), after_the_kill
    assert [last_task_by(events, workers) for events in histories] == [survivor] * 5, "it finished every return"
    # The killed worker's tasks were lost mid-way (its refunds were being paid) and redone by the survivor.
    lost = [any(event.event_type == TASK_TIMED_OUT for event in events.events) for events in histories]
    assert lost == [holder is killed for holder in holders]


async def test_without_a_client_certificate_the_proxy_refuses_and_the_error_says_so(
    local_env: WorkflowEnvironment, certificates: Certificates, tmp_path: Path
) -> None:
    async with grpc_tls_proxy(tmp_path, dev_server(local_env), certificates, verify_client=True) as proxy:
        no_certificate = Settings(temporal_address=proxy, temporal_tls_ca_file=certificates.ca)
        with pytest.raises(TemporalMisconfigured) as refused:
            await asyncio.wait_for(connect(no_certificate), PATIENCE_SECONDS)
    assert f"Temporal at {proxy}" in str(refused.value)
    assert "client certificate" in str(refused.value) and "TEMPORAL_TLS_CERT_FILE" in str(refused.value)


async def test_plain_and_tls_connections_to_the_wrong_kind_of_port_fail_at_once(
    local_env: WorkflowEnvironment, certificates: Certificates, tmp_path: Path
) -> None:
    async with grpc_tls_proxy(tmp_path, dev_server(local_env), certificates, verify_client=False) as proxy:
        # nginx answers a connection in clear with an HTTP/2 protocol error or by closing it, depending on timing:
        # an error naming the address either way (a closed connection is also what a restarting server does).
        with pytest.raises(TemporalUnreachable, match=f"Temporal at {proxy}: "):
            await asyncio.wait_for(connect(Settings(temporal_address=proxy)), PATIENCE_SECONDS)
        # Only the proxy's CA is needed when it does not ask for a client certificate.
        client = await connect(Settings(temporal_address=proxy, temporal_tls_ca_file=certificates.ca))
        assert client.namespace == "default"
    tls_to_plain = Settings(temporal_address=dev_server(local_env), temporal_tls_ca_file=certificates.ca)
    with pytest.raises(TemporalMisconfigured, match="does it speak TLS"):
        await asyncio.wait_for(connect(tls_to_plain), PATIENCE_SECONDS)


async def test_a_worker_given_the_wrong_ca_stops_at_start_and_says_why(
    local_env: WorkflowEnvironment, certificates: Certificates, tmp_path: Path
) -> None:
    async with grpc_tls_proxy(tmp_path, dev_server(local_env), certificates, verify_client=False) as proxy:
        worker = await start_worker(
            tmp_path, RETURNFLOW_TEMPORAL_ADDRESS=proxy, RETURNFLOW_TEMPORAL_TLS_CA_FILE=str(certificates.other_ca)
        )
        code = await asyncio.wait_for(worker.wait(), PATIENCE_SECONDS)
        assert worker.stderr is not None
        output = (await worker.stderr.read()).decode()
    assert code == 1, output
    assert f"worker cannot start: Temporal at {proxy}" in output
    assert "certificate was refused" in output and "TEMPORAL_TLS_CA_FILE" in output
    assert "waiting for Temporal" not in output, "a refused certificate is not retried"


async def test_the_worker_waits_for_temporal_and_polls_once_it_is_there_without_touching_schedules(
    local_env: WorkflowEnvironment, certificates: Certificates, tmp_path: Path
) -> None:
    address = f"127.0.0.1:{free_port()}"
    task_queue = "returnflow-test-" + secrets.token_hex(4)
    worker = await start_worker(
        tmp_path,
        RETURNFLOW_TEMPORAL_ADDRESS=address,
        RETURNFLOW_TASK_QUEUE=task_queue,
        RETURNFLOW_TEMPORAL_TLS_CA_FILE=str(certificates.ca),
        RETURNFLOW_TEMPORAL_TLS_CERT_FILE=str(certificates.client_cert),
        RETURNFLOW_TEMPORAL_TLS_KEY_FILE=str(certificates.client_key),
    )
    try:
        lines = await read_until(worker, f"waiting for Temporal at {address}", count=2)
        assert "Connection refused" in lines[-1], lines[-1]
        port = int(address.rpartition(":")[2])
        async with grpc_tls_proxy(tmp_path, dev_server(local_env), certificates, verify_client=True, port=port):
            try:
                where = Settings(temporal_address=dev_server(local_env), task_queue=task_queue)
                await until(lambda: worker_polling(where), "the worker polls through the proxy")
                schedules = [schedule.id async for schedule in await local_env.client.list_schedules()]
                assert not [ident for ident in schedules if ident.startswith(task_queue)], "setup is the command's"
            finally:
                await stop(worker)  # before its proxy goes
    finally:
        await stop(worker)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_the_api_serves_while_temporal_is_away_and_answers_503_for_what_needs_it(
    local_env: WorkflowEnvironment, database: Database, sandbox_url: str, certificates: Certificates, tmp_path: Path
) -> None:
    port = free_port()
    settings = settings_for(sandbox_url, database).model_copy(
        update={"temporal_address": f"127.0.0.1:{port}", **mutual_tls(certificates)}
    )
    async with database.transaction() as session:
        _, service_key = await create_api_key(session, "service")
    app = create_app(settings, database=database)
    headers = {"Authorization": f"Bearer {service_key}"}
    async with serve_app(app) as base_url, httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        assert (await api.get("/health/live")).status_code == 200
        not_ready = await api.get("/health/ready")
        assert not_ready.status_code == 503, not_ready.text
        assert [error["field"] for error in not_ready.json()["errors"]] == ["temporal"]
        listed = await api.get("/v1/returns")
        assert listed.status_code == 200, listed.text  # reads come from the read model
        order_id = await put_order(Callers(api, api, api, api, local_env.client))
        body = return_body(order_id=order_id)
        refused = await api.post("/v1/returns", json=body)
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert int(refused.headers["retry-after"]) > 0
        async with (
            grpc_tls_proxy(tmp_path, dev_server(local_env), certificates, verify_client=True, port=port),
            running_worker(local_env.client, settings, database),
        ):
            await until(lambda: app.state.temporal is not None, "the API connected once Temporal was there")
            created = await api.post("/v1/returns", json=body)
            assert created.status_code == 201, created.text
            assert (await api.get("/health/ready")).status_code == 200


# ---- helpers -----------------------------------------------------------------------------------


@asynccontextmanager
async def api_behind_proxy(
    settings: Settings, database: Database, sandbox: httpx.AsyncClient
) -> AsyncIterator[Callers]:
    """The API on a real port, connecting to Temporal itself as ``settings`` say (through the factory, as in
    production); its callers once it is connected."""
    async with database.transaction() as session:
        _, service_key = await create_api_key(session, "service")
        _, operator_key = await create_api_key(session, "operator")
    app = create_app(settings, database=database)
    async with serve_app(app) as base_url:

        def caller(key: str | None = None) -> httpx.AsyncClient:
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            # An inspection waits for the refund, and for a killed worker's task to be redone by another.
            return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=PATIENCE_SECONDS)

        async with caller(service_key) as service, caller(operator_key) as operator, caller() as anonymous:
            await until(lambda: app.state.temporal is not None, "the API connected through the proxy")
            yield Callers(service, operator, anonymous, sandbox, app.state.temporal, settings)


async def refunds_of(sandbox: httpx.AsyncClient, return_id: str) -> list[dict]:
    """The refunds the payment provider made for the return."""
    response = await sandbox.get("/payments/refunds", params={"reference": return_id})
    assert response.status_code == 200, response.text
    items: list[dict] = response.json()["items"]
    return items


async def no_faults_left(sandbox: httpx.AsyncClient) -> bool:
    """Every fault queued in the sandbox was met (a slow one: the call is being held)."""
    return not (await sandbox.get("/sandbox/faults")).json()["items"]


async def history(api: Callers, return_id: str) -> WorkflowHistory:
    return await api.temporal.get_workflow_handle(return_id).fetch_history()


def task_completions(events: WorkflowHistory) -> list[tuple[datetime, str]]:
    """When each workflow task of the run was completed, and by which worker (its identity)."""
    return [
        (event.event_time.ToDatetime(tzinfo=UTC), event.workflow_task_completed_event_attributes.identity)
        for event in events.events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    ]


def last_task_by(events: WorkflowHistory, workers: list[WorkerProcess]) -> WorkerProcess:
    _, identity = task_completions(events)[-1]
    return next(worker for worker in workers if worker.is_identity(identity))


async def start_worker(folder: Path, **variables: str) -> asyncio.subprocess.Process:
    """``python worker.py`` as an operator starts it: settings in the environment (plus ``variables``), run in
    ``folder`` (no stray ``.env``), its log on stderr as JSON lines."""
    environment = {
        **os.environ,
        "RETURNFLOW_LOG_FORMAT": "json",
        "RETURNFLOW_DATA_DIR": str(folder / "data"),
        "DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'worker.db'}",
        **variables,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(WORKER),
        env=environment,
        cwd=folder,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def read_until(process: asyncio.subprocess.Process, text: str, count: int = 1) -> list[str]:
    """The process's log lines up to the ``count``-th that holds ``text``."""
    assert process.stderr is not None
    lines: list[str] = []
    async with asyncio.timeout(PATIENCE_SECONDS):
        while sum(text in line for line in lines) < count:
            line = await process.stderr.readline()
            assert line, f"the process ended before logging {text!r} {count} times: {lines}"
            lines.append(line.decode())
    return lines


async def until(condition: Callable[[], bool | Awaitable[bool]], what: str) -> None:
    """Wait for ``condition`` (sync or async) to hold, for up to PATIENCE_SECONDS."""
    try:
        async with asyncio.timeout(PATIENCE_SECONDS):
            while True:
                result = condition()
                if not isinstance(result, bool):
                    result = await result
                if result:
                    return
                await asyncio.sleep(0.2)
    except TimeoutError:
        raise AssertionError(f"not so after {PATIENCE_SECONDS:g} s: {what}") from None
