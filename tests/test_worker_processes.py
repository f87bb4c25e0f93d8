"""Several worker processes on one task queue, one of them SIGKILLed, and a worker stopped with SIGTERM.

Real OS processes (``python worker.py``), a fresh PostgreSQL database they share, the Temporal dev
server and the sandbox (``bench.stack.running_stack``). The returns are driven over HTTP by the chaos
run's driver (``chaos/run.py``), with the chaos reduced to one SIGKILL of one of two workers.
"""

import asyncio
import os
from collections.abc import Sequence

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from bench.stack import running_stack
from chaos.run import (
    DEFAULT_POSTGRES_URL,
    ChaosConfig,
    ChaosReport,
    Driver,
    Http,
    ReturnOutcome,
    run_chaos,
    throwaway_postgres,
)
from tests.test_chaos import require_postgres

pytestmark = pytest.mark.chaos

POSTGRES_URL = os.environ.get("RETURNFLOW_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)

ONE_OF_TWO_KILLED = ChaosConfig(
    returns=50,
    kinds=("refund",),
    workers=2,
    restart_killed=False,
    seconds=30,  # the pick-ups are spread over 60 % of it, so the kill (after ~10 s) falls in the middle
    kill_every=10,
    max_kills=1,
    max_terminations=0,
    max_faults=0,
    settle_seconds=90,  # what the killed worker was running is retried after its timeout (30 s at most)
    poll_interval=1.0,
    seed=12,
    postgres_url=POSTGRES_URL,
)


async def test_two_workers_one_killed_mid_way_and_all_fifty_returns_are_refunded_once() -> None:
    await require_postgres()

    report = await run_chaos(ONE_OF_TWO_KILLED)

    lines = "\n".join(report.lines())
    print(lines)  # shown with -rA, or when it fails
    assert report.kills == 1 and report.worker_starts == 1, lines  # the killed worker was not started again
    assert [o.status for o in report.outcomes] == ["completed"] * 50, lines
    assert all(len(o.refunds) == 1 and not o.store_credits for o in report.outcomes), lines
    assert len({o.refunds[0]["idempotency_key"] for o in report.outcomes}) == 50, lines
    assert report.passed, lines


async def test_sigterm_lets_a_worker_finish_the_refund_it_is_paying() -> None:
    """The refund call is in flight (the sandbox holds it 6 s) when the worker gets SIGTERM: the worker
    finishes it and reports it before it exits, so it is paid once and never tried again (the call runs
    within the workflow task: that task completes, it does not time out for another worker to redo)."""
    await require_postgres()
    async with (
        throwaway_postgres(POSTGRES_URL) as url,
        running_stack(worker_process=True, database_url=url, worker_log=True) as stack,
    ):
        assert stack.worker is not None and stack.worker.process is not None
        deadline = asyncio.get_running_loop().time() + 120
        report = ChaosReport(config=ChaosConfig())
        http = Http(stack, report, lambda: deadline)
        driver = Driver(http, report.config, "graceful")
        outcome = ReturnOutcome(index=0, kind="refund", order_id="graceful-0")
        await driver.put_order(outcome)
        await driver.create(outcome)
        slow = {"operation": "payments.refund", "mode": "slow", "delay_seconds": 6}
        (await http.sandbox.post("/sandbox/faults", json=slow)).raise_for_status()
        driving = asyncio.create_task(driver.drive(outcome))
        while (await http.sandbox.get("/sandbox/faults")).json()["items"]:  # met: the refund is being paid
            assert not driving.done(), driving
            await asyncio.sleep(0.1)

        stack.worker.process.terminate()
        exit_status = await asyncio.wait_for(stack.worker.process.wait(), timeout=30)

        refunds = (await http.sandbox.get("/payments/refunds", params={"reference": outcome.return_id})).json()
        await stack.worker.start()  # a new worker takes the return on from there
        await driving
        await http.close()
        history = await stack.client.get_workflow_handle(outcome.return_id).fetch_history()

    assert exit_status == 0
    assert len(refunds["items"]) == 1
    redone = [
        EventType.Name(event.event_type)
        for event in history.events
        if event.event_type
        in (
            EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
            EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
            EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        )
    ]
    refund_attempts = [
        event.activity_task_started_event_attributes.attempt
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and _scheduled_type(history.events, event.activity_task_started_event_attributes.scheduled_event_id)
        == "refund_payment"
    ]
    assert redone == [], "the worker left its task for another to redo"
    assert refund_attempts in ([], [1]), "the refund was not retried: its first attempt was finished and reported"
    assert outcome.status == "completed", outcome


def _scheduled_type(events: Sequence[HistoryEvent], scheduled_event_id: int) -> str:
    scheduled = next(event for event in events if event.event_id == scheduled_event_id)
    return scheduled.activity_task_scheduled_event_attributes.activity_type.name
