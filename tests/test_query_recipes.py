"""The README's ``temporal workflow list --query`` recipes find what they say, on a real Temporal server.

The recipes are read from the README, so the text cannot drift from what is tested: a few returns are
started in different states, and each recipe's query must list the returns it is about and none of the
others, through the SDK's visibility call and through the ``temporal`` CLI exactly as the README writes it.
"""

import asyncio
import json
import re
import shlex
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain.policy import DEFAULT_POLICY
from domain.returns import Status
from domain.risk import RiskAssessment
from store.db import Database
from tests.conftest import running_worker, settings_for
from tests.factories import order_body, start_for, stored_order
from tests.temporal_cli import temporal_cli
from tests.workflow_harness import reach, scan, start_return, tracking_of

README = Path(__file__).resolve().parent.parent / "README.md"
RECIPE = re.compile(r"^temporal workflow list --query .+$", re.MULTILINE)
# The dev server's visibility is eventually consistent: a query is asked again, every half second, up to 30 s.
VISIBILITY_POLLS = 60


def recipes() -> list[str]:
    """The query of every ``temporal workflow list --query '…'`` line in the README."""
    return [shlex.split(line)[-1] for line in RECIPE.findall(README.read_text())]


@dataclass
class Returns:
    """The returns the recipes are checked against, by what is special about each."""

    plain: WorkflowHandle  # order O1001, awaiting shipment
    carrier_exception: WorkflowHandle  # waiting for a person after the carrier's exception
    refund_failed: WorkflowHandle  # a refund-only return whose payment was declined
    risky: WorkflowHandle  # a high-risk customer's return under policy version 3, in review
    large: WorkflowHandle  # 150.00 to refund, awaiting shipment

    def names_by_id(self) -> dict[str, str]:
        return {handle.id: name for name, handle in vars(self).items()}


# Which of the returns each README recipe must list (and no other of them).
EXPECTED = {
    'ReturnPriority = "high" AND ExecutionStatus = "Running"': {"carrier_exception", "refund_failed"},
    'AttentionReason = "refund_failed"': {"refund_failed"},
    'OrderId = "O1001"': {"plain"},
    'ReturnStatus = "needs_attention" AND AttentionReason = "carrier_exception"': {"carrier_exception"},
    'RiskLevel = "high" AND PolicyVersion = 3': {"risky"},
    'RefundAmount >= 100 AND ExecutionStatus = "Running"': {"large"},
}


@pytest.fixture(scope="module")
async def returns(local_env: WorkflowEnvironment, database: Database, sandbox_url: str) -> AsyncIterator[Returns]:
    """Started once per database backend; every recipe is checked against the same returns."""
    client = local_env.client
    settings = settings_for(sandbox_url, database)
    async with running_worker(client, settings, database), httpx.AsyncClient(base_url=sandbox_url) as sandbox:
        queue = settings.task_queue
        plain = await start_return(client, queue, start_for(await stored_order(database, "O1001")))
        carrier_exception = await start_return(client, queue, start_for(await stored_order(database)))
        await sandbox.post("/sandbox/faults", json={"operation": "payments.refund", "mode": "decline"})
        no_fallback = DEFAULT_POLICY.model_copy(update={"refund_failure_fallback": "none"})
        refund_failed = await start_return(
            client,
            queue,
            start_for(
                await stored_order(database),
                policy=no_fallback,
                lines=[{"line_id": "L1", "quantity": 1, "reason": "not_received"}],
                logistics={"method": "none"},
            ),
        )
        serial = RiskAssessment(level="high", reasons=["12 returns in 180 days"], serial_returner=True)
        risky_start = start_for(await stored_order(database), risk=serial).model_copy(update={"policy_version": 3})
        risky = await start_return(client, queue, risky_start)
        expensive = order_body()["lines"][0] | {"unit_price": "150.00"}
        large = await start_return(
            client,
            queue,
            start_for(
                await stored_order(
                    database,
                    lines=[expensive],
                    payments=[{"payment_id": "p1", "method": "card", "amount": "300.00", "provider_ref": "ch_1"}],
                )
            ),
        )
        shown = Returns(plain, carrier_exception, refund_failed, risky, large)
        await reach(plain, Status.AWAITING_SHIPMENT)
        await scan(
            carrier_exception, tracking_of(await reach(carrier_exception, Status.AWAITING_SHIPMENT)), "exception"
        )
        await reach(carrier_exception, Status.NEEDS_ATTENTION)
        await reach(refund_failed, Status.NEEDS_ATTENTION)
        await reach(risky, Status.UNDER_REVIEW)
        assert (await reach(large, Status.AWAITING_SHIPMENT)).refund.amount == Decimal("150.00")
        yield shown
        for workflow_id in shown.names_by_id():
            await client.get_workflow_handle(workflow_id).terminate("test finished")


def test_the_readme_shows_the_recipes_this_test_checks() -> None:
    assert recipes() == list(EXPECTED), "a recipe changed in the README: say here what it must find"


async def listed_by_sdk(client: Client, query: str, ours: dict[str, str]) -> set[str]:
    return {execution.id async for execution in client.list_workflows(query) if execution.id in ours}


async def listed_by_cli(client: Client, query: str, ours: dict[str, str]) -> set[str]:
    line = next(line for line in RECIPE.findall(README.read_text()) if shlex.split(line)[-1] == query)
    address = client.service_client.config.target_host
    out = await temporal_cli(
        *shlex.split(line)[1:], "--address", address, "--namespace", client.namespace, "--output", "jsonl"
    )
    return {json.loads(row)["execution"]["workflowId"] for row in out.splitlines() if row.strip()} & ours.keys()


@pytest.mark.parametrize("query", list(EXPECTED))
async def test_each_recipe_lists_the_returns_it_is_about(
    query: str, returns: Returns, local_env: WorkflowEnvironment
) -> None:
    ours = returns.names_by_id()
    wanted = {handle.id for name, handle in vars(returns).items() if name in EXPECTED[query]}
    for _ in range(VISIBILITY_POLLS):
        found = await listed_by_sdk(local_env.client, query, ours)
        if found == wanted:
            break
        await asyncio.sleep(0.5)
    assert {ours[i] for i in found} == EXPECTED[query]
    assert {ours[i] for i in await listed_by_cli(local_env.client, query, ours)} == EXPECTED[query]
