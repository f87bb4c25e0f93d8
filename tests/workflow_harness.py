"""Driving ReturnWorkflow on the time-skipping server: a worker on the real sandbox and database, the clock
fast-forwarded. Shared by the workflow tests."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal

import httpx
import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from domain.orders import Order
from domain.policy import DEFAULT_POLICY
from domain.returns import Inspection, ReturnView, Status
from messages import search_attributes
from messages.returns import CarrierScan, StartReturn
from store.db import Database
from tests.conftest import running_worker, settings_for
from tests.factories import NOW, start_for, stored_order
from workflows.return_workflow import ReturnWorkflow

# The inspection of the one returned line: as new, back on the shelf.
AS_NEW = Inspection.model_validate({"lines": [{"line_id": "L1", "condition": "as_new", "disposition": "restock"}]})
NEEDS_REVIEW = DEFAULT_POLICY.model_copy(update={"auto_approve_max_amount": Decimal("10")})


@dataclass
class Harness:
    temporal: Client
    task_queue: str
    started: list[WorkflowHandle] = field(default_factory=list)


@pytest.fixture
async def client(
    time_skipping_env: WorkflowEnvironment, sandbox_url: str, database: Database
) -> AsyncIterator[Harness]:
    settings = settings_for(sandbox_url, database)
    harness = Harness(time_skipping_env.client, settings.task_queue)
    async with running_worker(time_skipping_env.client, settings, database):
        yield harness
    # A workflow left waiting on a queue nobody polls would stop the test server from skipping time.
    for handle in harness.started:
        with contextlib.suppress(RPCError):
            await handle.terminate("test finished")
    # A fault a test queued but its workflow never met would fail the next test's partner call.
    async with httpx.AsyncClient(base_url=sandbox_url) as sandbox:
        left = (await sandbox.get("/sandbox/faults")).json()["items"]
        await sandbox.delete("/sandbox/faults")
    assert not left, f"faults queued but never met: {left}"


async def start(client: Harness, database: Database, order: Order | None = None, **request) -> WorkflowHandle:
    """Start a return of ``order`` (a new stored one by default) as the API would."""
    handle = await start_return(
        client.temporal, client.task_queue, start_for(order or await stored_order(database), **request)
    )
    client.started.append(handle)
    return handle


async def start_return(temporal: Client, task_queue: str, begin: StartReturn) -> WorkflowHandle:
    """Start ``begin``'s workflow as the API does: with the attributes known at the start and its summary."""
    return await temporal.start_workflow(
        ReturnWorkflow.run,
        begin,
        id=begin.return_id,
        task_queue=task_queue,
        **search_attributes.shown_from_start(begin),
    )


async def view_of(handle: WorkflowHandle) -> ReturnView:
    for _ in range(200):
        view = await handle.query(ReturnWorkflow.view)
        if view is not None:
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(f"{handle.id} never opened")


async def reach(handle: WorkflowHandle, status: Status) -> ReturnView:
    for _ in range(200):
        view = await view_of(handle)
        if view.status == status:
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(f"{handle.id} never reached {status}; it is {view.status}")


def tracking_of(view: ReturnView) -> str:
    """The tracking number of the booked shipment (a return awaiting shipment has one)."""
    assert view.logistics.tracking_number is not None
    return view.logistics.tracking_number


async def scan(handle: WorkflowHandle, tracking: str, event: str) -> None:
    await handle.signal(
        ReturnWorkflow.carrier_scan, CarrierScan(tracking_number=tracking, event=event, occurred_at=NOW)
    )


async def shipment(sandbox: httpx.AsyncClient, tracking: str) -> dict:
    items = (await sandbox.get("/carrier/shipments")).json()["items"]
    return next(s for s in items if s["tracking_number"] == tracking)


async def deliver_and_inspect(handle: WorkflowHandle, tracking: str) -> ReturnView:
    """The carrier picks the parcel up and delivers it, the warehouse inspects it as new: the return once completed."""
    await scan(handle, tracking, "picked_up")
    await reach(handle, Status.IN_TRANSIT)
    await scan(handle, tracking, "delivered")
    await reach(handle, Status.RECEIVED)
    await handle.execute_update(ReturnWorkflow.inspect, AS_NEW)
    return await reach(handle, Status.COMPLETED)
