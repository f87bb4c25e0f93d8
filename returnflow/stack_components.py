"""The four processes of the dev stack (``returnflow/stack.py``): how each is started and how its readiness is told."""

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, DescribeTaskQueueRequest

from messages.search_attributes import dev_server_arguments
from returnflow import temporal
from returnflow.run_async import run_async
from returnflow.settings import Settings
from returnflow.temporal_binaries import temporal_cli_path


class StackError(Exception):
    """Something that stops the stack from starting or running; the message says what."""


ROOT = Path(__file__).resolve().parent.parent  # the repository: worker.py and the packages live here


@dataclass
class Component:
    name: str
    argv: list[str]
    env: dict[str, str]
    is_ready: Callable[[], bool]  # one probe, called repeatedly until it returns True
    ports: list[tuple[str, int]]  # must be free before the component starts
    quiet_when_stopping: bool = False  # drop its output once asked to stop (shutdown noise)
    stopping: bool = field(default=False, repr=False)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    pump: threading.Thread | None = field(default=None, repr=False)


# --- the components ----------------------------------------------------------------------------


def build_components(settings: Settings) -> list[Component]:
    return [temporal_server(settings), sandbox(settings), worker(settings), api(settings)]


def temporal_server(settings: Settings) -> Component:
    host, port = split_host_port(settings.temporal_address)
    argv = [
        temporal_cli_path(), "server", "start-dev",
        "--db-filename", str(settings.data_dir / "temporal.db"),
        "--ip", host, "--port", str(port), "--ui-port", str(settings.temporal_ui_port),
        "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
        "--log-level", "warn",
        "--namespace", settings.temporal_namespace,
        "--ui-codec-endpoint", api_url(settings) + "/codec",  # the UI decodes payloads through the API
    ]  # fmt: skip
    argv += dev_server_arguments()
    return Component(
        name="temporal",
        argv=argv,
        env=child_env(settings),
        is_ready=lambda: port_open(connect_host(host), port) and run_async(temporal_ready(settings)),
        ports=[(connect_host(host), port), (connect_host(host), settings.temporal_ui_port)],
        quiet_when_stopping=True,  # the dev server logs a screenful of poll errors while it shuts down
    )


def sandbox(settings: Settings) -> Component:
    url = urlsplit(settings.sandbox_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    return Component(
        name="sandbox",
        argv=[sys.executable, "-m", "sandbox"],
        env=child_env(
            settings,
            RETURNFLOW_SANDBOX_HOST=host,
            RETURNFLOW_SANDBOX_PORT=str(port),
            RETURNFLOW_SANDBOX_DB=str(settings.data_dir / "sandbox.db"),
            # Counter scans of drop-off codes reach the API as carrier events (with a carrier secret set).
            RETURNFLOW_SANDBOX_CARRIER_EVENTS_URL=api_url(settings) + "/v1/carrier-events",
        ),
        is_ready=lambda: http_ok(settings.sandbox_url.rstrip("/") + "/health"),
        ports=[(host, port)],
    )


def worker(settings: Settings) -> Component:
    return Component(
        name="worker",
        argv=[sys.executable, str(ROOT / "worker.py")],
        # The dev server starts empty each time it has a new data folder: the worker sets the namespace up.
        env=child_env(settings, RETURNFLOW_TEMPORAL_SETUP_ON_START="true"),
        is_ready=lambda: run_async(worker_polling(settings)),
        ports=[],
    )


def api(settings: Settings) -> Component:
    return Component(
        name="api",
        argv=[sys.executable, "-m", "api"],  # listens on api_host:api_port, from the environment below
        env=child_env(settings),
        is_ready=lambda: http_ok(api_url(settings) + "/health/ready"),
        ports=[(connect_host(settings.api_host), settings.api_port)],
    )


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The parent's environment plus the settings as resolved here, so every process agrees."""
    env = dict(os.environ)
    for name, info in Settings.model_fields.items():
        variable = info.validation_alias if isinstance(info.validation_alias, str) else f"RETURNFLOW_{name.upper()}"
        value = getattr(settings, name)
        if value is None:  # unset (a file path, an optional switch): the variable would read "None"
            env.pop(variable, None)
        else:
            env[variable] = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
    if settings.log_format == "auto" and sys.stdout.isatty():
        env["RETURNFLOW_LOG_FORMAT"] = "console"  # their output goes through a pipe, but ends up on a terminal
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


# --- readiness probes --------------------------------------------------------------------------


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def http_ok(url: str) -> bool:
    try:
        # trust_env=False: a proxy from the environment must not stand between us and 127.0.0.1.
        return httpx.get(url, timeout=2, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


async def temporal_ready(settings: Settings) -> bool:
    """The dev server answers and has created the namespace."""
    try:
        client = await temporal.connect(settings)
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=settings.temporal_namespace), timeout=timedelta(seconds=5)
        )
        return True
    except Exception:
        return False


async def worker_polling(settings: Settings) -> bool:
    """The worker is ready when Temporal sees it polling the task queue."""
    try:
        client = await temporal.connect(settings)
        response = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=settings.temporal_namespace,
                task_queue=TaskQueue(name=settings.task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            ),
            timeout=timedelta(seconds=5),
        )
        return len(response.pollers) > 0
    except Exception:
        return False


# --- dev keys ----------------------------------------------------------------------------------


def split_host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise StackError(f"RETURNFLOW_TEMPORAL_ADDRESS must be host:port, not {address!r}")
    return host, int(port)


def connect_host(host: str) -> str:
    """Where to reach a server bound to ``host`` (a wildcard bind is reached on loopback)."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::", "[::]") else host


def api_url(settings: Settings) -> str:
    return f"http://{connect_host(settings.api_host)}:{settings.api_port}"
