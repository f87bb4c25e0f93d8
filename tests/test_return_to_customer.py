"""A line inspection gives ``return_to_customer`` travels back to the customer (time-skipping server).

The parcel is booked with the carrier sandbox over HTTP, to the address of the order in the store, and the
Return lists it under ``logistics.return_shipments``; that line is not refunded.
"""

import httpx

from domain.returns import Inspection, Status
from store.db import Database
from tests.factories import order_body, stored_order
from tests.workflow_harness import Harness, reach, scan, start, tracking_of
from workflows.return_workflow import ReturnWorkflow

TWO_TEES = [
    {**order_body()["lines"][0], "line_id": "L1"},
    {**order_body()["lines"][0], "line_id": "L3", "sku": "TEE-BLUE-M", "quantity": 1},
]


async def test_a_line_returned_to_the_customer_ships_back_to_the_order_address_and_is_not_refunded(
    client: Harness, database: Database, sandbox: httpx.AsyncClient
) -> None:
    order = await stored_order(
        database, lines=TWO_TEES, payments=[{"payment_id": "p1", "method": "card", "amount": "59.97"}]
    )
    handle = await start(
        client,
        database,
        order,
        lines=[
            {"line_id": "L1", "quantity": 1, "reason": "defective"},
            {"line_id": "L3", "quantity": 1, "reason": "defective"},
        ],
    )
    booked = await reach(handle, Status.AWAITING_SHIPMENT)
    for event in ("picked_up", "delivered"):
        await scan(handle, tracking_of(booked), event)
    await reach(handle, Status.RECEIVED)

    inspection = {
        "lines": [
            {"line_id": "L1", "condition": "as_new", "disposition": "restock"},
            {"line_id": "L3", "condition": "not_as_described", "disposition": "return_to_customer"},
        ]
    }
    await handle.execute_update(ReturnWorkflow.inspect, Inspection.model_validate(inspection))
    final = await handle.result()

    assert final.status == Status.COMPLETED
    assert str(final.refund.amount) == "19.99", "only L1 is refunded"
    [sent] = final.logistics.return_shipments
    assert sent.line_id == "L3" and sent.carrier == "sandbox-post"
    parcels = (await sandbox.get("/carrier/shipments", params={"reference": handle.id})).json()["items"]
    parcel = next(p for p in parcels if p["tracking_number"] == sent.tracking_number)
    assert parcel["direction"] == "to_customer" and parcel["idempotency_key"] == f"{handle.id}:to_customer:L3"
    assert parcel["to_address"]["line1"] == "1 Analytical St", "the address came from the stored order"
    assert parcel["items"] == [{"sku": "TEE-BLUE-M", "quantity": 1}]
    assert any("shipped back to the customer" in entry.note for entry in final.timeline)
    refunds = (await sandbox.get("/payments/refunds", params={"reference": handle.id})).json()["items"]
    assert [r["amount"] for r in refunds] == ["19.99"]


async def test_nothing_ships_back_when_no_line_returns_to_the_customer(
    client: Harness, database: Database, sandbox: httpx.AsyncClient
) -> None:
    handle = await start(client, database)
    booked = await reach(handle, Status.AWAITING_SHIPMENT)
    for event in ("picked_up", "delivered"):
        await scan(handle, tracking_of(booked), event)
    await reach(handle, Status.RECEIVED)
    inspection = {"lines": [{"line_id": "L1", "condition": "as_new", "disposition": "restock"}]}
    await handle.execute_update(ReturnWorkflow.inspect, Inspection.model_validate(inspection))
    final = await handle.result()

    assert final.logistics.return_shipments == []
    parcels = (await sandbox.get("/carrier/shipments", params={"reference": handle.id})).json()["items"]
    assert [p.get("direction") for p in parcels] == ["to_merchant"]
