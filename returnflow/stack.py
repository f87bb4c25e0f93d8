"""The dev stack: everything returnflow needs, in one terminal (``returnflow stack``).

It prepares the data folder and the database, then starts four processes in
order, each only once the one before it is ready:

    temporal   the Temporal dev server (SQLite file in the data folder) with its UI
    sandbox    the sandbox partners (order system, warehouse, carrier, payments, notifications)
    worker     worker.py, polling the task queue
    api        the FastAPI app under uvicorn

Their output is shown prefixed with their name. Once all are ready it prints
the URLs and two API keys (kept in ``<data_dir>/dev-keys.json`` so a restart
reuses them, like it reuses the Temporal, app and sandbox databases). Unless
``RETURNFLOW_CODEC_KEYS`` is set, the payload encryption key is generated once and
kept in ``<data_dir>/dev-codec-keys``; Temporal UI decodes through the API's
``/codec`` (admitted without a key from this machine, see api/routes/codec.py). So is
the secret customer tokens and tracking links are signed with, unless
``RETURNFLOW_SESSION_SECRET`` is set (``<data_dir>/dev-session-secret``): the links the
worker puts in customers' messages open in the API, and still do after a restart. Ctrl-C
or SIGTERM stops the processes in reverse order and exits 0; if one of them
dies on its own, the rest are stopped and the exit code is 1. Killed outright
(SIGKILL), the stack takes its children with it, and the next start on the same
data folder stops any it left behind (``returnflow/child_processes.py``).
"""

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr

from returnflow.child_processes import FolderInUse, StackPidFile, start_child
from returnflow.codec import CodecError, new_key_entry, parse_keys
from returnflow.run_async import run_async
from returnflow.settings import Settings
from returnflow.stack_components import (
    ROOT,
    Component,
    StackError,
    api_url,
    build_components,
    connect_host,
    port_open,
    split_host_port,
)
from returnflow.temporal_binaries import TemporalBinaryNotFound
from store import operators
from store.api_keys import Role, create_api_key, role_for_key
from store.db import Database, redacted
from store.migrate import prepare_database

READY_TIMEOUT = 60.0  # seconds a component may take to become ready
STOP_TIMEOUT = 10.0  # seconds a component gets between SIGTERM and SIGKILL
POLL_INTERVAL = 0.5
DEV_KEY_ROLES: tuple[Role, ...] = ("service", "operator")
COLORS = {"temporal": "35", "sandbox": "33", "worker": "36", "api": "32", "stack": "1"}


def run_stack(settings: Settings) -> int:
    """Run the stack until Ctrl-C/SIGTERM (returns 0) or a failure (returns 1)."""
    settings = settings.model_copy(update={"data_dir": settings.data_dir.resolve()})
    return Stack(settings).run()


def ensure_dev_keys(settings: Settings) -> dict[str, str]:
    """role -> secret; reuses ``dev-keys.json`` while its keys still work, else creates new ones."""
    path = settings.data_dir / "dev-keys.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    keys = run_async(_usable_keys(settings.effective_database_url, stored))
    if keys != stored:
        _write_private_json(path, keys)
    path.chmod(0o600)
    return {role: entry["key"] for role, entry in keys.items()}


DEV_OPERATOR = "admin"


def ensure_dev_operator(settings: Settings) -> str:
    """The password of the console's dev operator ``admin``, kept in ``dev-operator.json``; the account is made
    (or given a new password, enabled again) when that password no longer logs in."""
    path = settings.data_dir / "dev-operator.json"
    stored = json.loads(path.read_text()).get("password", "") if path.exists() else ""
    password = run_async(_usable_operator_password(settings.effective_database_url, stored))
    if password != stored:
        _write_private_json(path, {"name": DEV_OPERATOR, "password": password})
    return password


async def _usable_operator_password(url: str, stored: str) -> str:
    database = Database(url)
    try:
        async with database.transaction() as session:
            if stored and await operators.check_password(session, DEV_OPERATOR, stored):
                return stored
            password = secrets.token_urlsafe(12)
            await operators.save_operator(session, DEV_OPERATOR, password, datetime.now(UTC), replace=True)
            return password
    finally:
        await database.dispose()


def _write_private_json(path: Path, data: object) -> None:
    """Write ``data`` to a file only its owner can read (it holds secrets)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump(data, file, indent=2)


async def _usable_keys(url: str, stored: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    keys: dict[str, dict[str, str]] = {}
    database = Database(url)
    try:
        async with database.transaction() as session:
            for role in DEV_KEY_ROLES:
                entry = stored.get(role) or {}
                if await role_for_key(session, entry.get("key", "")) == role:
                    keys[role] = entry
                else:
                    key_id, secret = await create_api_key(session, role, label="dev stack")
                    keys[role] = {"id": key_id, "key": secret}
    finally:
        await database.dispose()
    return keys


def with_dev_codec(settings: Settings) -> Settings:
    """The stack's encryption set-up: the configured keys, else a dev key kept in the data folder.

    Temporal UI in the browser cannot send an API key, so unless told otherwise the
    stack lets the local UI decode without one (RETURNFLOW_CODEC_ALLOW_ANONYMOUS_LOCAL).
    """
    update: dict[str, object] = {}
    if "codec_allow_anonymous_local" not in settings.model_fields_set:
        update["codec_allow_anonymous_local"] = True
    if not settings.codec_keys.get_secret_value().strip():
        path = settings.data_dir / "dev-codec-keys"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as file:
                file.write(new_key_entry("dev1") + "\n")
        keys = path.read_text().strip()
        try:
            parse_keys(keys)
        except CodecError as error:
            raise StackError(f"{path}: {error} (fix it, or delete the data folder to start afresh)") from None
        update["codec_keys"] = SecretStr(keys)
    return settings.model_copy(update=update)


def with_local_webhooks(settings: Settings) -> Settings:
    """Unless told otherwise, the stack sends webhooks to receivers on this machine and its network too
    (RETURNFLOW_WEBHOOK_ALLOW_PRIVATE_ADDRESSES), which production refuses (``returnflow/ssrf.py``)."""
    if "webhook_allow_private_addresses" in settings.model_fields_set:
        return settings
    return settings.model_copy(update={"webhook_allow_private_addresses": True})


def with_dev_session_secret(settings: Settings) -> Settings:
    """The configured session secret, else a dev one kept in the data folder, shared by the worker and the API."""
    if settings.session_secret.get_secret_value():
        return settings
    path = settings.data_dir / "dev-session-secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(32) + "\n")
    return settings.model_copy(update={"session_secret": SecretStr(path.read_text().strip())})


# --- running them ------------------------------------------------------------------------------


class Stack:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.components: list[Component] = []
        self.stop_requested = threading.Event()
        self.output_lock = threading.Lock()
        self.colored = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        self.width = max(len(name) for name in COLORS)
        self.operator_password = ""
        # The children it started, for the next stack on this data folder (see returnflow/child_processes.py).
        self.pid_file = StackPidFile(settings.data_dir / "stack.pids", self.say)

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        try:
            self.pid_file.claim()
            keys = self.prepare()
            self.components = build_components(self.settings)
            for component in self.components:
                if self.stop_requested.is_set():
                    break
                self.start(component)
                self.wait_until_ready(component)
            if not self.stop_requested.is_set():
                self._write(banner(self.settings, keys, self.operator_password))
                self.watch()
            self.say("stopping")
            return 0
        except (StackError, TemporalBinaryNotFound, FolderInUse) as error:
            self.say(f"error: {error}")
            return 1
        finally:
            self.stop_all()
            self.pid_file.release()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def prepare(self) -> dict[str, str]:
        settings = self.settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        url = settings.effective_database_url
        self.say(f"data in {settings.data_dir}; app database {redacted(url)}")
        self.settings = with_dev_session_secret(with_local_webhooks(with_dev_codec(settings)))
        try:
            prepare_database(self.settings)  # with the dev codec keys, which seal webhook secrets
            self.operator_password = ensure_dev_operator(settings)
            return ensure_dev_keys(settings)
        except Exception as error:
            raise StackError(f"could not prepare the app database {redacted(url)}: {error}") from error

    def start(self, component: Component) -> None:
        for host, port in component.ports:
            if port_open(host, port):
                raise StackError(
                    f"{host}:{port} is already in use, so {component.name} cannot start there "
                    "(is another stack running? Ports are set with RETURNFLOW_* variables, see the README)"
                )
        self.say(f"starting {component.name}")
        try:
            # Its own process group (Ctrl-C reaches only us, and we stop the children in order); it dies with us.
            component.process = start_child(component.argv, cwd=ROOT, env=component.env)
        except OSError as error:
            raise StackError(f"could not start {component.name} ({component.argv[0]}): {error}") from error
        self.pid_file.add(component.name, component.process.pid)
        assert component.process.stdout is not None
        component.pump = threading.Thread(target=self._pump, args=(component,), daemon=True)
        component.pump.start()

    def wait_until_ready(self, component: Component) -> None:
        assert component.process is not None
        started = time.monotonic()
        deadline = started + READY_TIMEOUT
        while not self.stop_requested.is_set():
            code = component.process.poll()
            if code is not None:
                raise StackError(f"{component.name} exited with code {code} before it was ready (see its output above)")
            if component.is_ready():
                self.say(f"{component.name} is ready ({time.monotonic() - started:.1f} s)")
                return
            if time.monotonic() > deadline:
                raise StackError(f"{component.name} was not ready after {READY_TIMEOUT:.0f} s")
            self.stop_requested.wait(POLL_INTERVAL)

    def watch(self) -> None:
        """Return when a stop is requested; raise if a component exits on its own."""
        while not self.stop_requested.wait(POLL_INTERVAL):
            for component in self.components:
                assert component.process is not None
                code = component.process.poll()
                if code is not None:
                    raise StackError(f"{component.name} exited unexpectedly with code {code}; stopping the stack")

    def stop_all(self) -> None:
        for component in reversed(self.components):
            self.stop(component)

    def stop(self, component: Component) -> None:
        process = component.process
        if process is None:
            return
        if process.poll() is None:
            self.say(f"stopping {component.name}")
            component.stopping = True
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.say(f"{component.name} did not stop within {STOP_TIMEOUT:.0f} s; killing it")
                _signal_group(process, signal.SIGKILL)
                process.wait()
        if component.pump is not None:
            component.pump.join(timeout=2)  # let its last lines through

    def _on_signal(self, signum: int, _frame: object) -> None:
        # Only set the flag: the main thread notices it within POLL_INTERVAL and stops everything.
        self.stop_requested.set()

    # --- output ---

    def _pump(self, component: Component) -> None:
        """Copy a component's output to ours, line by line, prefixed with its name."""
        assert component.process is not None and component.process.stdout is not None
        stream = component.process.stdout
        prefix = self._prefix(component.name)
        for line in iter(stream.readline, b""):
            if not (component.stopping and component.quiet_when_stopping):
                self._write(prefix + line.decode(errors="replace").rstrip("\r\n"))
        stream.close()

    def say(self, message: str) -> None:
        self._write(self._prefix("stack") + message)

    def _prefix(self, name: str) -> str:
        label = f"{name:<{self.width}} | "
        return f"\033[{COLORS.get(name, '0')}m{label}\033[0m" if self.colored else label

    def _write(self, text: str) -> None:
        with self.output_lock:
            try:
                sys.stdout.write(text + "\n")
                sys.stdout.flush()
            except (OSError, ValueError):
                pass  # stdout went away (closed pipe); keep draining the children anyway


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


# --- small helpers -----------------------------------------------------------------------------


def banner(settings: Settings, keys: dict[str, str], operator_password: str) -> str:
    temporal_host, _ = split_host_port(settings.temporal_address)
    return "\n".join(
        [
            "",
            "returnflow dev stack is ready",
            f"  API           {api_url(settings)}",
            f"  Console       {api_url(settings)}/console/  (log in as {DEV_OPERATOR} / {operator_password})",
            f"  API docs      {api_url(settings)}/docs",
            f"  Temporal UI   http://{connect_host(temporal_host)}:{settings.temporal_ui_port}",
            f"  Codec server  {api_url(settings)}/codec  (Temporal UI decrypts payloads through it)",
            f"  Sandbox       {settings.sandbox_url}",
            f"  Data          {settings.data_dir}  (delete it to start afresh)",
            "",
            "  API keys for this stack (also in dev-keys.json in the data folder):",
            f"  export SERVICE_KEY={keys['service']}",
            f"  export OPERATOR_KEY={keys['operator']}",
            "",
            "Ctrl-C stops everything.",
            "",
        ]
    )
