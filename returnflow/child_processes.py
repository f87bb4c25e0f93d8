"""The dev stack's children: started so that they die with it, and recorded so that the next start finds those
that did not.

``returnflow stack`` stops its children in order when it is asked to (Ctrl-C, SIGTERM). When it is killed
outright (SIGKILL, the OOM killer, a closed terminal's hard kill) no handler runs, so the stack protects itself
twice:

- each child asks the kernel, between fork and exec, for SIGKILL when the stack dies (Linux
  ``PR_SET_PDEATHSIG``), and runs in a process group of its own (so Ctrl-C in the terminal reaches only the
  stack, which stops the children in order);
- each child is written to ``stack.pids`` in the data folder with its start time. A later stack on the same
  folder kills the process groups of the recorded children still running (where ``PR_SET_PDEATHSIG`` does not
  exist, or a grandchild outlived its parent) before it starts anything, and refuses to start while the
  recorded stack itself still runs. The start time is what tells "our process" from "a process that was later
  given the same pid": a process whose start time differs is never signalled.

Process start times come from ``/proc`` (Linux); elsewhere nothing is recorded as verifiable, so nothing is killed.
"""

import contextlib
import ctypes
import ctypes.util
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
STALE_STOP_TIMEOUT = 5.0  # seconds a stale child gets between SIGTERM and SIGKILL


class FolderInUse(Exception):
    """Another stack, still running, owns the data folder."""


def start_child(argv: Sequence[str], *, cwd: Path, env: dict[str, str]) -> "subprocess.Popen[bytes]":
    """Start ``argv`` in a process group of its own, with stdout and stderr on one pipe, to die with this process."""
    return subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        process_group=0,
        preexec_fn=_die_with_parent(),
    )


def _die_with_parent() -> Callable[[], None] | None:
    """What the child runs between fork and exec; None where the kernel has no parent-death signal.

    The kernel sends the signal when the *thread* that forked ends: the stack starts its children from its
    main thread, which lives as long as the stack.
    """
    libc_name = ctypes.util.find_library("c")
    if not os.path.exists("/proc/self/stat") or libc_name is None:
        return None
    prctl = ctypes.CDLL(libc_name, use_errno=True).prctl  # looked up here: the child only calls it
    parent = os.getpid()

    def set_death_signal() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the stack died before the request took effect
            os._exit(1)

    return set_death_signal


@dataclass(frozen=True)
class RecordedProcess:
    name: str
    pid: int
    started: int  # start time, in clock ticks since boot (/proc/<pid>/stat); with the pid, it names one process

    def running(self) -> bool:
        """Still the very process that was recorded (same pid and same start time)."""
        return start_time(self.pid) == self.started


def start_time(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot; None when there is no such process (or no /proc),
    or when it has ended and only waits for its parent to collect its exit code (a zombie holds no port)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may contain spaces: count the fields after it.
    fields = stat[stat.rindex(")") + 2 :].split()
    state, started = fields[0], fields[19]  # fields 3 and 22 of the line, "state" and "starttime"
    return None if state in ("Z", "X") else int(started)


def record_of(name: str, pid: int) -> RecordedProcess | None:
    started = start_time(pid)
    return None if started is None else RecordedProcess(name, pid, started)


class StackPidFile:
    """``stack.pids`` in a data folder: the stack that owns the folder and the children it started."""

    def __init__(self, path: Path, say: Callable[[str], None]) -> None:
        self.path = path
        self.say = say
        self.owner: RecordedProcess | None = None
        self.children: list[RecordedProcess] = []

    def claim(self) -> None:
        """Clear what a dead stack left running on this folder, then record this process as its owner.

        Raises ``FolderInUse`` while the recorded stack is still running."""
        stack, children = self._read()
        if stack is not None and stack.pid != os.getpid() and stack.running():
            raise FolderInUse(f"another stack (pid {stack.pid}) is running on {self.path.parent}; stop it first")
        for child in children:
            if child.running():
                self.say(f"stopping {child.name} (pid {child.pid}), left running by a stack that did not stop it")
                _stop_group(child)
        self.owner = record_of("stack", os.getpid())
        self.children = []
        self._write()

    def add(self, name: str, pid: int) -> None:
        child = record_of(name, pid)
        if child is not None:
            self.children.append(child)
            self._write()

    def release(self) -> None:
        """Forget the folder's processes: called once every child has been stopped."""
        if self.owner is not None:
            self.path.unlink(missing_ok=True)
            self.owner = None

    def _read(self) -> tuple[RecordedProcess | None, list[RecordedProcess]]:
        try:
            data = json.loads(self.path.read_text())
            stack = RecordedProcess(**data["stack"]) if data.get("stack") else None
            return stack, [RecordedProcess(**child) for child in data.get("children", [])]
        except FileNotFoundError:
            return None, []
        except (ValueError, TypeError, KeyError) as error:  # not ours, or cut short: nothing in it can be trusted
            self.say(f"ignoring {self.path}: {error}")
            return None, []

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "stack": asdict(self.owner) if self.owner else None,
            "children": [asdict(child) for child in self.children],
        }
        partial = self.path.with_suffix(".tmp")
        partial.write_text(json.dumps(data, indent=2))
        partial.replace(self.path)  # a reader sees the old file or the new one, never half of one


def _stop_group(process: RecordedProcess) -> None:
    """SIGTERM the process and its group, SIGKILL them if it still runs after ``STALE_STOP_TIMEOUT``."""

    def send(sig: signal.Signals) -> None:
        # The stack made each child the leader of its own group; signal the one process if it is not (any more).
        if os.getpgid(process.pid) == process.pid:
            os.killpg(process.pid, sig)
        else:
            os.kill(process.pid, sig)

    def wait_until_gone() -> None:
        deadline = time.monotonic() + STALE_STOP_TIMEOUT
        while process.running() and time.monotonic() < deadline:
            time.sleep(0.1)

    with contextlib.suppress(ProcessLookupError, PermissionError):
        send(signal.SIGTERM)
        wait_until_gone()
        if process.running():
            send(signal.SIGKILL)
            wait_until_gone()
