"""The baseline's figure: bare workflows per second on the same server, ``concurrency`` at a time."""

import secrets
import time
from typing import Any

from temporalio.client import Client

from bench.bare_workflow import TASK_QUEUE as BARE_TASK_QUEUE
from bench.bare_workflow import BareWorkflow
from bench.drive import run_at_most
from bench.measure import billable_actions, measured, percentiles


async def measure_bare(client: Client, count: int, concurrency: int) -> dict[str, Any]:
    ids = [f"bare-{secrets.token_hex(4)}-{i}" for i in range(count)]
    latencies: list[float] = []

    async def one(workflow_id: str) -> None:
        start = time.perf_counter()
        await client.execute_workflow(BareWorkflow.run, id=workflow_id, task_queue=BARE_TASK_QUEUE)
        latencies.append(time.perf_counter() - start)

    _, usage = await measured(run_at_most(concurrency, one, ids))
    events = (await client.get_workflow_handle(ids[0]).fetch_history()).events
    return {
        "count": count,
        "per_s": count / usage.wall_s,
        "latency_ms": percentiles(latencies),
        "events_per_workflow": len(events),
        "actions_per_workflow": billable_actions(events),
        "usage": usage,
    }
