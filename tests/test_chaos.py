"""The short form of the chaos run (``./scripts/chaos`` is the long one; see chaos/run.py).

Six returns driven to their end over HTTP on the whole stack (the worker as ``python worker.py``,
a fresh PostgreSQL database) while, for 25 s, the worker is SIGKILLed and restarted, the app's
database connections are terminated and the payments sandbox declines, fails and stalls. It is
part of the default run (CI runs it); ``-m "not chaos"`` leaves it out.
"""

import os

import asyncpg
import pytest

from chaos.run import DEFAULT_POSTGRES_URL, ChaosConfig, ChaosReport, ReturnOutcome, check, run_chaos

pytestmark = pytest.mark.chaos

POSTGRES_URL = os.environ.get("RETURNFLOW_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)

SHORT = ChaosConfig(
    returns=6,
    seconds=25,
    kill_every=4,
    terminate_every=3,
    fault_every=2,
    settle_seconds=75,  # a partner call lost with a killed worker is retried after its 30 s timeout
    poll_interval=0.5,
    seed=9,
    postgres_url=POSTGRES_URL,
)


async def require_postgres() -> None:
    try:
        connection = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://", 1))
    except (OSError, asyncpg.PostgresError) as error:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and is not reachable at {POSTGRES_URL}: {error}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {error}")
    await connection.close()


async def test_returns_end_paid_once_while_the_worker_is_killed_the_database_cut_and_payments_fail() -> None:
    await require_postgres()

    report = await run_chaos(SHORT)

    print("\n".join(report.lines()))  # shown with -rA, or when it fails
    assert report.kills >= 1 and report.connections_terminated >= 1 and sum(report.faults.values()) >= 1, (
        "the chaos did not happen:\n" + "\n".join(report.lines())
    )
    assert {o.status for o in report.outcomes} <= {"completed", "canceled"}, "\n".join(report.lines())
    assert report.passed, "\n".join(report.lines())


def test_the_invariants_catch_a_second_payout_a_500_and_a_return_left_hanging() -> None:
    """The checks themselves, on made-up outcomes (no stack): what a broken run would look like."""
    refund = {"idempotency_key": "k1", "amount": "19.99"}
    paid_twice = ReturnOutcome(index=0, kind="refund", order_id="o0", return_id="ret_0", status="completed")
    paid_twice.refunds = [refund, {"idempotency_key": "k2", "amount": "19.99"}]
    paid_twice.body = {"refund": {"amount": "19.99"}, "money": [{"kind": "refund", **refund}]}
    hanging = ReturnOutcome(index=1, kind="refund", order_id="o1", return_id="ret_1", status="received")
    waiting = ReturnOutcome(index=2, kind="refund", order_id="o2", return_id="ret_2", status="needs_attention")
    waiting.attention = {"reason": "transit_overdue", "actions": ["extend_deadline"]}
    report = ChaosReport(config=ChaosConfig(), outcomes=[paid_twice, hanging, waiting])
    report.server_errors.append("GET /v1/returns/ret_0 -> 500: boom")
    report.failed_workflows.append("ReturnWorkflow ret_9")

    check(report)

    passed = {invariant.name.split(" (")[0] for invariant in report.invariants if invariant.passed}
    assert not report.passed
    assert passed == {"each return ended as driven"}, passed  # every other invariant caught its breach
    ended = next(i for i in report.invariants if i.name.startswith("every return ended"))
    assert "ret_1 received" in ended.detail and "ret_2" not in ended.detail  # waiting with an action is allowed
