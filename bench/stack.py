"""Bring the whole returnflow stack up in this process, on one Temporal dev server, and tear it down.

    async with running_stack() as stack:
        ... stack.api_url, stack.service_key, stack.client ...

Everything lives in a temporary folder that is deleted afterwards: Temporal's
SQLite file (WAL, synchronous=normal, as ``./scripts/stack`` runs it) and the
app's SQLite database (or the database at ``database_url``, e.g. a throw-away
PostgreSQL one, migrated here). The sandbox partners are in memory, served over real
HTTP; so is the API. The bare worker runs as tasks of this event loop, like
the API and the driver; so does the return worker, unless it is asked to run
as its own process (``python worker.py``, as in production).
"""

import asyncio
import contextlib
import os
import secrets
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app as create_api_app
from bench.bare_workflow import TASK_QUEUE as BARE_TASK_QUEUE
from bench.bare_workflow import BareWorkflow, noop
from messages.search_attributes import dev_server_arguments
from returnflow.codec import new_key_entry
from returnflow.serve import serve_app
from returnflow.settings import Settings
from returnflow.temporal import connect, data_converter
from returnflow.temporal_binaries import temporal_cli_path
from sandbox.app import create_app as create_sandbox_app
from store.api_keys import create_api_key
from store.db import Database
from store.migrate import upgrade_async
from worker import build_worker

ROOT = Path(__file__).resolve().parent.parent
# Until a new worker process polls, or the API answers: importing worker.py (or the API, in each of its processes
# at once) takes 10 s and more on a loaded 2-core machine.
START_TIMEOUT_SECONDS = 90


@dataclass
class Stack:
    client: Client
    api_url: str
    sandbox_url: str
    service_key: str
    operator_key: str
    settings: Settings
    workdir: Path
    workers: "list[WorkerProcess]"  # with ``worker_process``: the processes, to kill and restart

    @property
    def worker(self) -> "WorkerProcess | None":
        """The first worker process, if the return worker runs as processes."""
        return self.workers[0] if self.workers else None


@contextlib.asynccontextmanager
async def running_stack(
    *,
    worker_process: bool = False,
    database_url: str | None = None,
    worker_log: bool = False,
    workers: int = 1,
    api_processes: int = 0,
) -> AsyncIterator[Stack]:
    """Everything up; ``worker_process`` runs the return worker as ``python worker.py`` instead of in here,
    ``workers`` processes of it on the one task queue.

    ``database_url``: the app's database (migrated here) instead of a SQLite file in the folder.
    ``worker_log``: the worker processes write to ``worker.log`` in the folder instead of to the terminal.
    ``api_processes``: serve the API from that many processes (``python -m api``, as in production) instead of
    from this event loop."""
    # Payloads are encrypted; a throw-away key is enough for a throw-away server (the worker process inherits it).
    if not os.environ.get("RETURNFLOW_CODEC_KEYS", "").strip():
        os.environ["RETURNFLOW_CODEC_KEYS"] = new_key_entry("bench")
    async with contextlib.AsyncExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="returnflow-bench-")))

        extra_args = ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]
        extra_args += dev_server_arguments()
        env = await WorkflowEnvironment.start_local(
            data_converter=data_converter(Settings()),
            dev_server_existing_path=temporal_cli_path(),
            dev_server_database_filename=str(workdir / "temporal.db"),
            dev_server_extra_args=extra_args,
            dev_server_log_level="error",
        )
        stack.push_async_callback(env.shutdown)

        sandbox_url = await stack.enter_async_context(serve_app(create_sandbox_app()))

        url = database_url or f"sqlite+aiosqlite:///{workdir / 'returnflow.db'}"
        await upgrade_async(url)
        # One engine per role, as in production where the API and the worker are separate processes.
        api_db, worker_db = Database(url), Database(url)
        stack.push_async_callback(api_db.dispose)
        stack.push_async_callback(worker_db.dispose)
        async with api_db.transaction() as session:
            _, service_key = await create_api_key(session, "service", "bench")
            _, operator_key = await create_api_key(session, "operator", "bench")

        settings = Settings(
            temporal_address=env.client.service_client.config.target_host,
            temporal_namespace=env.client.namespace,
            sandbox_url=sandbox_url,
            database_url=url,
            data_dir=workdir,
            task_queue="returnflow-bench-" + secrets.token_hex(4),
            log_level="WARNING",
            create_rate_per_minute=0,
        )  # measure the system, not the API's rate limit
        client = await connect(settings)  # as every process connects, not the test environment's own client
        worker_handles = []
        if worker_process:
            log_dir = workdir if worker_log else None
            worker_handles = [WorkerProcess(client, settings, log_dir) for _ in range(workers)]
            for handle in worker_handles:
                stack.push_async_callback(handle.stop)
            await asyncio.gather(*(handle.start() for handle in worker_handles))  # each takes seconds to import
        else:
            worker = await stack.enter_async_context(build_worker(client, settings, worker_db))
            await stack.enter_async_context(worker)
        await stack.enter_async_context(
            Worker(client, task_queue=BARE_TASK_QUEUE, workflows=[BareWorkflow], activities=[noop])
        )

        if api_processes:
            api_url = await stack.enter_async_context(api_subprocesses(client, settings, api_processes))
        else:
            api_url = await stack.enter_async_context(
                serve_app(create_api_app(settings, temporal=client, database=api_db))
            )
        yield Stack(
            client=client,
            api_url=api_url,
            sandbox_url=sandbox_url,
            service_key=service_key,
            operator_key=operator_key,
            settings=settings,
            workdir=workdir,
            workers=worker_handles,
        )


# --- the return worker in its own process ----------------------------------------------------------


class WorkerProcess:
    """``python worker.py`` configured through the environment, as ./scripts/stack runs it; it can be
    killed (SIGKILL, nothing drains) and started again. Its output goes to ``worker.log`` in the folder
    when ``log_dir`` is given, else to this process's. ``variables`` are set over the stack's environment
    (e.g. the TLS files for a Temporal behind a proxy)."""

    def __init__(
        self,
        client: Client,
        settings: Settings,
        log_dir: Path | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> None:
        self._client = client
        self._settings = settings
        self._log_dir = log_dir
        self._variables = dict(variables or {})
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    def _environment(self) -> dict[str, str]:
        # The Schedules, as the dev stack's worker sets them up.
        return {
            **process_environment(self._client, self._settings),
            "RETURNFLOW_TEMPORAL_SETUP_ON_START": "true",
            **self._variables,
        }

    async def start(self, *, wait_for_poller: bool = True) -> None:
        """Start the process; with ``wait_for_poller``, until the server sees this process polling the
        task queue (a killed process's poller is still listed for a while; it does not count)."""
        output = None
        if self._log_dir is not None:
            output = (self._log_dir / "worker.log").open("ab")  # the child keeps its own copy of the descriptor
        try:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, str(ROOT / "worker.py"), env=self._environment(), cwd=ROOT, stdout=output, stderr=output
            )
        finally:
            if output is not None:
                output.close()
        self.starts += 1
        if not wait_for_poller:
            return
        async with asyncio.timeout(START_TIMEOUT_SECONDS):
            while not await _polling(self._client, self._settings.task_queue, self.process.pid):
                if self.process.returncode is not None:
                    raise RuntimeError(f"worker.py exited with status {self.process.returncode}")
                await asyncio.sleep(0.1)

    def is_identity(self, identity: str) -> bool:
        """Whether a poller's or a history event's ``identity`` is this process's (the SDK's is ``pid@host``)."""
        return self.process is not None and identity.startswith(f"{self.process.pid}@")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def kill(self) -> None:
        """SIGKILL: running tasks are lost mid-flight, as in a crash or an OOM kill."""
        if self.running:
            assert self.process is not None
            self.process.kill()
            await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM (worker.py drains), SIGKILL after 15 s."""
        if not self.running:
            return
        assert self.process is not None
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), timeout=15)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


def process_environment(client: Client, settings: Settings) -> dict[str, str]:
    """What a process of the stack (worker, API) is configured with: the stack's server, queue, partners, database."""
    return {
        **os.environ,
        "RETURNFLOW_TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "RETURNFLOW_TEMPORAL_NAMESPACE": client.namespace,
        "RETURNFLOW_TASK_QUEUE": settings.task_queue,
        "RETURNFLOW_SANDBOX_URL": settings.sandbox_url,
        "DATABASE_URL": settings.effective_database_url,
        "RETURNFLOW_DATA_DIR": str(settings.data_dir),
        "RETURNFLOW_CREATE_RATE_PER_MINUTE": str(settings.create_rate_per_minute),
        "RETURNFLOW_LOG_LEVEL": "WARNING",
        "RETURNFLOW_LOG_FORMAT": "json",  # no multi-screen tracebacks with locals
    }


@contextlib.asynccontextmanager
async def api_subprocesses(client: Client, settings: Settings, processes: int) -> AsyncIterator[str]:
    """The API as production runs it: ``python -m api`` with ``RETURNFLOW_API_PROCESSES`` on a free port; yields
    its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **process_environment(client, settings),
        "RETURNFLOW_API_HOST": "127.0.0.1",
        "RETURNFLOW_API_PORT": str(port),
        "RETURNFLOW_API_PROCESSES": str(processes),
        # Customer tokens must verify in whichever process a request lands on.
        "RETURNFLOW_SESSION_SECRET": secrets.token_hex(32),
    }
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "api", env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url) as probe_client, asyncio.timeout(START_TIMEOUT_SECONDS):
            while True:
                if process.returncode is not None:
                    raise RuntimeError(f"uvicorn exited with status {process.returncode}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await probe_client.get("/health/live")).status_code == 200:
                        break
                await asyncio.sleep(0.2)
        yield url
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=15)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _polling(client: Client, task_queue: str, pid: int | None = None) -> bool:
    """A poller on the task queue; with ``pid``, one of that process (the SDK's identity is ``pid@host``)."""
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return any(pid is None or poller.identity.startswith(f"{pid}@") for poller in response.pollers)
