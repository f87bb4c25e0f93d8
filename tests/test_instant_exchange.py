"""Instant exchange on the time-skipping server: the replacement ships at approval against an authorization
hold on the customer's payment; the hold is released at the return's first scan before ship_by, captured when
nothing was sent back in time. And a cheaper replacement's difference is refunded even when the return is
lost in transit. The partners are the real sandbox over HTTP."""

from datetime import timedelta
from decimal import Decimal

import httpx
from temporalio.testing import WorkflowEnvironment

from domain.attention import Resolution
from domain.evaluation import evaluate
from domain.exchanges import Variant
from domain.policy import DEFAULT_POLICY
from domain.returns import Inspection, ReturnView, Status
from store.db import Database
from tests.factories import start_for, stored_order
from tests.histories_io import keep_history
from tests.workflow_harness import Harness, reach, scan, shipment, tracking_of
from workflows.return_workflow import ReturnWorkflow

INSTANT = DEFAULT_POLICY.model_copy(update={"instant_exchange": True})
CATALOG = {
    "TEE-RED-M": Variant(sku="TEE-RED-M", product_id="TEE", price=Decimal("19.99")),
    "TEE-RED-L": Variant(sku="TEE-RED-L", product_id="TEE", price=Decimal("19.99")),
    "TEE-BASIC-L": Variant(sku="TEE-BASIC-L", product_id="TEE", price=Decimal("14.99")),
}


async def start_instant(
    client: Harness, database: Database, sandbox: httpx.AsyncClient, policy=INSTANT, sku: str = "TEE-RED-L"
):
    await sandbox.post(f"/warehouse/stock/{sku}", json={"quantity": 1})
    order = await stored_order(database)
    begin = start_for(
        order,
        policy=policy,
        lines=[{"line_id": "L1", "quantity": 1, "reason": "size_fit"}],
        resolution="exchange",
        exchange_items=[{"line_id": "L1", "sku": sku}],
    )
    begin.evaluation = evaluate(begin.order, begin.request, policy, begin.requested_at, catalog=CATALOG)
    handle = await client.temporal.start_workflow(
        ReturnWorkflow.run, begin, id=begin.return_id, task_queue=client.task_queue
    )
    client.started.append(handle)
    return handle


async def authorizations(sandbox: httpx.AsyncClient, return_id: str) -> list[dict]:
    return (await sandbox.get("/payments/authorizations", params={"reference": return_id})).json()["items"]


async def reservations(sandbox: httpx.AsyncClient, return_id: str) -> list[str]:
    items = (await sandbox.get("/warehouse/reservations", params={"reference": return_id})).json()["items"]
    return [item["status"] for item in items]


def hold_of(view: ReturnView):
    assert view.exchange is not None and view.exchange.hold is not None
    return view.exchange.hold


async def test_the_replacement_ships_at_approval_and_the_first_scan_releases_the_hold(
    client: Harness, database: Database, sandbox: httpx.AsyncClient
) -> None:
    handle = await start_instant(client, database, sandbox)

    booked = await reach(handle, Status.AWAITING_SHIPMENT)
    assert hold_of(booked).status == "authorized" and hold_of(booked).amount == Decimal("19.99")
    assert await reservations(sandbox, handle.id) == ["shipped"], "the replacement left before the return"
    [held] = await authorizations(sandbox, handle.id)
    assert (held["status"], held["amount"], held["idempotency_key"]) == ("authorized", "19.99", f"{handle.id}:hold")

    await scan(handle, tracking_of(booked), "picked_up")
    on_its_way = await reach(handle, Status.IN_TRANSIT)
    for _ in range(100):
        if hold_of(on_its_way).status == "released":
            break
        on_its_way = await reach(handle, Status.IN_TRANSIT)
    assert hold_of(on_its_way).status == "released"
    await scan(handle, tracking_of(booked), "delivered")
    await reach(handle, Status.RECEIVED)
    inspection = {"lines": [{"line_id": "L1", "condition": "as_new", "disposition": "restock"}]}
    await handle.execute_update(ReturnWorkflow.inspect, Inspection.model_validate(inspection))
    final = await handle.result()

    assert final.status == Status.COMPLETED and hold_of(final).status == "released"
    assert [a["status"] for a in await authorizations(sandbox, handle.id)] == ["voided"]
    assert await reservations(sandbox, handle.id) == ["shipped"], "shipped once"
    await keep_history(handle, "instant-exchange-released")


async def test_nothing_sent_back_by_ship_by_captures_the_hold(
    client: Harness, database: Database, sandbox: httpx.AsyncClient
) -> None:
    handle = await start_instant(client, database, sandbox)
    booked = await reach(handle, Status.AWAITING_SHIPMENT)

    final = await handle.result()  # the time-skipping server jumps past ship_by

    assert final.status == Status.EXPIRED
    assert hold_of(final).status == "captured"
    assert [a["status"] for a in await authorizations(sandbox, handle.id)] == ["captured"]
    assert (await shipment(sandbox, tracking_of(booked)))["status"] == "canceled", "the other undos ran too"
    assert any("is captured" in entry.note for entry in final.timeline), "the customer is told"
    await keep_history(handle, "instant-exchange-captured")


async def test_without_instant_exchange_nothing_is_held_and_the_replacement_waits(
    client: Harness, database: Database, sandbox: httpx.AsyncClient
) -> None:
    await sandbox.post("/warehouse/stock/TEE-RED-L", json={"quantity": 1})
    order = await stored_order(database)
    begin = start_for(order, resolution="exchange", exchange_items=[{"line_id": "L1", "sku": "TEE-RED-L"}])
    handle = await client.temporal.start_workflow(
        ReturnWorkflow.run, begin, id=begin.return_id, task_queue=client.task_queue
    )
    client.started.append(handle)
    booked = await reach(handle, Status.AWAITING_SHIPMENT)
    assert booked.exchange is None or booked.exchange.hold is None
    assert await reservations(sandbox, handle.id) == ["reserved"]
    assert await authorizations(sandbox, handle.id) == []


async def test_a_cheaper_replacement_lost_in_transit_still_refunds_the_difference(
    client: Harness, database: Database, sandbox: httpx.AsyncClient, time_skipping_env: WorkflowEnvironment
) -> None:
    handle = await start_instant(client, database, sandbox, policy=DEFAULT_POLICY, sku="TEE-BASIC-L")
    booked = await reach(handle, Status.AWAITING_SHIPMENT)
    assert booked.refund.amount == Decimal("5.00")
    await scan(handle, tracking_of(booked), "picked_up")
    await reach(handle, Status.IN_TRANSIT)
    await time_skipping_env.sleep(timedelta(days=31))
    await reach(handle, Status.NEEDS_ATTENTION)

    await handle.execute_update(
        ReturnWorkflow.resolve, Resolution.model_validate({"action": "close_as_lost", "note": "lost"})
    )
    final = await handle.result()

    assert final.status == Status.COMPLETED
    assert await reservations(sandbox, handle.id) == ["shipped"]
    refunds = (await sandbox.get("/payments/refunds", params={"reference": handle.id})).json()["items"]
    assert [r["amount"] for r in refunds] == ["5.00"]
