"""The baseline: a workflow that runs six no-op activities one after the other.

It is what the engine costs with no business logic, no database and no HTTP:
the floor a return's throughput is compared against. Only definitions here;
nothing runs at import (the workflow sandbox re-imports this module).
"""

from datetime import timedelta

from temporalio import activity, workflow

TASK_QUEUE = "bench-bare"
STEPS = 6


@activity.defn(name="bench_noop")
async def noop(step: int) -> int:
    return step


@workflow.defn(name="BareWorkflow")
class BareWorkflow:
    @workflow.run
    async def run(self) -> int:
        for step in range(STEPS):
            await workflow.execute_activity(noop, step, start_to_close_timeout=timedelta(seconds=10))
        return STEPS
