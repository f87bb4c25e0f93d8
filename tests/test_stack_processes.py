"""``returnflow stack`` killed outright takes its children with it, and the next start clears what a dead stack left.

The stack runs as an operator runs it (the ``returnflow`` command, a process of its own, on free ports and a data
folder of its own); the children are the real Temporal dev server, sandbox, worker and API.
"""

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

from returnflow.child_processes import FolderInUse, RecordedProcess, StackPidFile, record_of, start_time

READY_TIMEOUT = 240.0  # the whole stack on a loaded machine: Temporal, migrations, sandbox, worker, API
GONE_TIMEOUT = 15.0  # "within seconds": what the kernel needs to deliver the parent-death signal, with room


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.2)


class RunningStack:
    """``returnflow stack`` as a process; its output is collected line by line."""

    def __init__(self, folder: Path, ports: dict[str, int]) -> None:
        self.data_dir = folder / "data"
        self.ports = ports
        env = {
            **os.environ,
            "RETURNFLOW_DATA_DIR": str(self.data_dir),
            "DATABASE_URL": "",
            "RETURNFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{ports['temporal']}",
            "RETURNFLOW_TEMPORAL_UI_PORT": str(ports["temporal_ui"]),
            "RETURNFLOW_SANDBOX_URL": f"http://127.0.0.1:{ports['sandbox']}",
            "RETURNFLOW_API_PORT": str(ports["api"]),
            "RETURNFLOW_CUSTOMER_SITE_URL": f"http://127.0.0.1:{ports['api']}",
            "RETURNFLOW_LOG_FORMAT": "json",
            "RETURNFLOW_LOG_LEVEL": "WARNING",
        }
        command = Path(sys.executable).with_name("returnflow")
        self.process = subprocess.Popen(
            [str(command), "stack"], cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is not None:
                self.output.append(line)
                if text in line:
                    return
            if time.monotonic() > deadline or (line is None and self.process.poll() is not None):
                tail = "\n".join(self.output[-40:])
                raise AssertionError(f"the stack did not print {text!r} within {timeout:.0f} s:\n{tail}")

    def children(self) -> list[RecordedProcess]:
        data = json.loads((self.data_dir / "stack.pids").read_text())
        return [RecordedProcess(**child) for child in data["children"]]


@pytest.fixture
def ports() -> dict[str, int]:
    return {name: free_port() for name in ("temporal", "temporal_ui", "sandbox", "api")}


@pytest.fixture
def leftovers() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; whatever still runs afterwards is killed (with its group)."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def hold_port(port: int) -> subprocess.Popen[bytes]:
    """A process that listens on ``port`` until it is killed, in a session (and process group) of its own."""
    script = (
        "import socket, sys, time\n"
        "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        f"s.bind(('127.0.0.1', {port})); s.listen(); print('listening', flush=True)\n"
        "time.sleep(3600)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, start_new_session=True)
    assert process.stdout is not None and process.stdout.readline().strip() == b"listening"
    return process


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process start times come from Linux's /proc")
def test_a_killed_stack_leaves_no_children_and_a_new_one_clears_what_an_old_one_left(
    tmp_path: Path, ports: dict[str, int], leftovers: list[subprocess.Popen[bytes]]
) -> None:
    # What a stack that died without its children would have left: a child still holding the sandbox's port, and
    # a record of a process whose pid has since been given to an unrelated program (another start time).
    stale = hold_port(ports["sandbox"])
    unrelated = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"], start_new_session=True)
    leftovers += [stale, unrelated]
    stale_record, unrelated_record = record_of("sandbox", stale.pid), record_of("worker", unrelated.pid)
    assert stale_record and unrelated_record
    dead_stack = RecordedProcess("stack", 2**22 + 1, 1)  # beyond pid_max: no such process
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "stack.pids").write_text(
        json.dumps(
            {
                "stack": asdict(dead_stack),
                "children": [
                    asdict(stale_record),
                    {**asdict(unrelated_record), "started": unrelated_record.started - 1},
                ],
            }
        )
    )

    stack = RunningStack(tmp_path, ports)
    try:
        stack.wait_for("returnflow dev stack is ready", READY_TIMEOUT)
        assert stale.poll() is not None, "the stale child was left holding the sandbox's port"
        assert unrelated.poll() is None, "a process that only shares a recorded pid was signalled"
        assert any(f"pid {stale.pid}" in line for line in stack.output), "the stack did not say what it stopped"

        children = stack.children()
        assert sorted(child.name for child in children) == ["api", "sandbox", "temporal", "worker"]
        assert all(port_open(port) for port in ports.values())

        stack.process.send_signal(signal.SIGKILL)
        stack.process.wait()
        wait_until(lambda: not any(child.running() for child in children), GONE_TIMEOUT, "every child ended")
        wait_until(lambda: not any(port_open(port) for port in ports.values()), GONE_TIMEOUT, "every port free")
    finally:
        if stack.process.poll() is None:
            stack.process.kill()
        for child in stack.children() if (stack.data_dir / "stack.pids").exists() else []:
            if child.running():
                os.killpg(child.pid, signal.SIGKILL)


def test_a_stack_does_not_start_on_a_folder_another_running_stack_owns(
    tmp_path: Path, leftovers: list[subprocess.Popen[bytes]]
) -> None:
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"], start_new_session=True)
    leftovers.append(other)
    owner = record_of("stack", other.pid)
    assert owner is not None and start_time(other.pid) == owner.started
    path = tmp_path / "stack.pids"
    path.write_text(json.dumps({"stack": asdict(owner), "children": []}))

    with pytest.raises(FolderInUse, match=f"pid {other.pid}"):
        StackPidFile(path, say=lambda _: None).claim()
    assert other.poll() is None

    other.kill()
    other.wait()
    pid_file = StackPidFile(path, say=lambda _: None)
    pid_file.claim()  # its owner ended: the folder is free
    assert json.loads(path.read_text())["stack"]["pid"] == os.getpid()
    pid_file.release()
    assert not path.exists()
