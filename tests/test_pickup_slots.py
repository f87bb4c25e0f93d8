"""A booked pickup slot the carrier misses: the return shows pickup_missed, and a person rebooks another
slot (the carrier's first booking cancelled) or lets the customer hand the parcel in at a counter."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from domain.attention import Resolution
from domain.returns import ReturnView, Status
from returnflow.settings import Settings
from store.db import Database
from tests.histories_io import keep_history
from tests.workflow_harness import Harness, deliver_and_inspect, reach, scan, shipment, start, tracking_of
from workflows.return_workflow import ReturnWorkflow


def slot(days_ahead: float, now: datetime | None = None) -> dict[str, str]:
    """A four-hour window ``days_ahead`` from ``now`` (default: the real time, where the time-skipping server
    starts; once earlier tests have skipped its clock ahead, pass the server's time)."""
    start = (now or datetime.now(UTC)).replace(microsecond=0) + timedelta(days=days_ahead)
    return {"start": utc(start), "end": utc(start + timedelta(hours=4))}


def utc(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def start_pickup(client: Harness, database: Database, env: WorkflowEnvironment) -> WorkflowHandle:
    tomorrow = slot(1, await env.get_current_time())
    return await start(client, database, logistics={"method": "pickup", "pickup_slot": tomorrow})


async def missed(handle: WorkflowHandle, env: WorkflowEnvironment) -> ReturnView:
    await reach(handle, Status.AWAITING_SHIPMENT)
    await env.sleep(timedelta(days=1, hours=7))  # the slot's end plus the grace period
    view = await reach(handle, Status.NEEDS_ATTENTION)
    assert view.attention is not None and view.attention.reason == "pickup_missed", view.attention
    assert view.attention.actions == ["rebook_pickup", "switch_to_drop_off"]
    return view


async def resolve(handle: WorkflowHandle, action: str, **fields: object) -> ReturnView:
    return await handle.execute_update(ReturnWorkflow.resolve, Resolution.model_validate({"action": action, **fields}))


async def test_a_missed_pickup_is_rebooked_and_the_return_goes_on_to_its_refund(
    client: Harness, database: Database, time_skipping_env: WorkflowEnvironment, sandbox: httpx.AsyncClient
) -> None:
    handle = await start_pickup(client, database, time_skipping_env)
    booked = await reach(handle, Status.AWAITING_SHIPMENT)
    assert booked.logistics.pickup_slot is not None
    first = tracking_of(booked)
    await missed(handle, time_skipping_env)

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await resolve(handle, "rebook_pickup")
    assert "pickup_slot_required" in str(refused.value.cause.details)  # type: ignore[attr-defined]

    new_slot = slot(2, await time_skipping_env.get_current_time())
    rebooked = await resolve(handle, "rebook_pickup", pickup_slot=new_slot, note="customer home on Friday")
    assert rebooked.status == Status.AWAITING_SHIPMENT and rebooked.attention is None
    assert rebooked.logistics.pickup_slot is not None
    assert rebooked.logistics.pickup_slot.start == datetime.fromisoformat(new_slot["start"])
    second = tracking_of(rebooked)
    assert second != first
    assert (await shipment(sandbox, first))["status"] == "canceled"
    assert (await shipment(sandbox, second))["pickup_slot"] == new_slot

    done = await deliver_and_inspect(handle, second)
    assert done.refund.status == "succeeded"
    await keep_history(handle, "pickup-rebooked")


async def test_a_missed_pickup_can_become_a_drop_off_with_a_qr_code(
    client: Harness, database: Database, time_skipping_env: WorkflowEnvironment, sandbox: httpx.AsyncClient
) -> None:
    handle = await start_pickup(client, database, time_skipping_env)
    await missed(handle, time_skipping_env)

    switched = await resolve(handle, "switch_to_drop_off")
    assert switched.status == Status.AWAITING_SHIPMENT
    logistics = switched.logistics
    assert logistics.method == "drop_off" and logistics.pickup_slot is None
    site = Settings().customer_site_url
    assert logistics.drop_off_token
    assert logistics.qr_code_url == f"{site}/v1/drop-off-codes/{logistics.drop_off_token}.png"
    assert (await shipment(sandbox, tracking_of(switched)))["method"] == "drop_off"

    await scan(handle, tracking_of(switched), "picked_up")
    await reach(handle, Status.IN_TRANSIT)


async def test_a_pickup_scan_in_time_raises_no_attention(
    client: Harness, database: Database, time_skipping_env: WorkflowEnvironment
) -> None:
    handle = await start_pickup(client, database, time_skipping_env)
    booked = await reach(handle, Status.AWAITING_SHIPMENT)
    await scan(handle, tracking_of(booked), "picked_up")
    await reach(handle, Status.IN_TRANSIT)
    await time_skipping_env.sleep(timedelta(days=3))
    view = await reach(handle, Status.IN_TRANSIT)
    assert view.attention is None
