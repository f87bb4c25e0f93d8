"""Clocks: wall time, CPU time of this process and of its children, percentiles; a figure against its target."""

import json
import math
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent


@dataclass
class Usage:
    """What a phase cost: wall seconds, and CPU seconds of this process and of each child by name."""

    wall_s: float = 0.0
    python_cpu_s: float = 0.0
    children_cpu_s: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "wall_s": round(self.wall_s, 2),
            "bench_process_cpu_s": round(self.python_cpu_s, 2),
            **{f"{name}_cpu_s": round(cpu, 2) for name, cpu in sorted(self.children_cpu_s.items())},
        }


async def measured(job: Any) -> tuple[Any, Usage]:
    """Await ``job``; also return the wall time and the CPU spent meanwhile."""
    cpu, children, start = time.process_time(), children_cpu_seconds(), time.perf_counter()
    value = await job
    wall = time.perf_counter() - start
    after = children_cpu_seconds()
    spent = {name: after[name] - children.get(name, 0.0) for name in after}
    return value, Usage(wall_s=wall, python_cpu_s=time.process_time() - cpu, children_cpu_s=spent)


def children_cpu_seconds() -> defaultdict[str, float]:
    """CPU seconds (user + system) of this process's live children, by command name; empty off Linux."""
    totals: defaultdict[str, float] = defaultdict(float)
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        entries = list(Path("/proc").iterdir())
    except (OSError, ValueError, AttributeError):
        return totals
    me = os.getpid()
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == me:  # fields: state, ppid, ..., utime (12th), stime (13th)
            totals["worker" if name.startswith("python") else name] += (int(fields[11]) + int(fields[12])) / ticks
    return totals


def percentiles(values: list[float]) -> dict[str, float]:
    """Mean, p50, p95, p99 and max of durations given in seconds, in milliseconds (nearest rank)."""
    if not values:
        return {}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[max(0, math.ceil(p * len(ordered)) - 1)]

    return {
        "mean": round(sum(ordered) / len(ordered) * 1000, 1),
        "p50": round(rank(0.50) * 1000, 1),
        "p95": round(rank(0.95) * 1000, 1),
        "p99": round(rank(0.99) * 1000, 1),
        "max": round(ordered[-1] * 1000, 1),
    }


def verdict(ok: bool) -> str:
    """What a figure's note says about its target."""
    return "PASS" if ok else "MISS"


def write_results(path: Path, results: dict[str, Any]) -> None:
    """A bench mode's figures as JSON at ``path`` (folders made), and where they went."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"  figures written to {path}")


def progress_for(name: str) -> Callable[[str], None]:
    """A mode's progress lines: on stderr, prefixed with ``name`` ("bench reads"), so stdout keeps only figures."""

    def progress(message: str) -> None:
        print(f"{name}: {message}", file=sys.stderr, flush=True)

    return progress


# The history events Temporal bills as actions (https://docs.temporal.io/cloud/actions): a start, each
# signal and update, each activity scheduled, each timer and each search-attribute upsert; and the local
# activities of one workflow task together, as one action (Temporal Cloud counts a task's markers once).
BILLABLE_EVENTS = frozenset(
    {
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        EventType.EVENT_TYPE_TIMER_STARTED,
        EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
    }
)


def billable_actions(events: Iterable[HistoryEvent]) -> int:
    """How many billable actions a history holds: its ``BILLABLE_EVENTS``, and one for each workflow task
    that recorded markers (its local activities)."""
    actions, task = 0, 0
    task_with_markers: set[int] = set()
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            task = event.event_id
        elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            task_with_markers.add(task)
        elif event.event_type in BILLABLE_EVENTS:
            actions += 1
    return actions + len(task_with_markers)
