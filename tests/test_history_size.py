"""What one happy return costs in Temporal: its history's events, counted on the real dev server.

Temporal stores, bills and replays by events, so a change that adds a marker, an upsert or a
workflow task to every return shows here first. The bench (``./scripts/bench``) prints the same
count over many returns with its target of 35; this test holds that line.
"""

from temporalio.api.enums.v1 import EventType

from tests.api_client import Callers, carrier, put_order, wait_for_status
from tests.factories import return_body

# A mail return from request to refund (bench: "events/return"): one under issue 13's target of 35.
HAPPY_PATH_EVENTS = 34


async def test_a_happy_return_costs_no_more_history_events_than_today(api: Callers) -> None:
    order_id = await put_order(api)
    created = (await api.service.post("/v1/returns", json=return_body(order_id=order_id))).json()
    shipped = await wait_for_status(api, created["id"], "awaiting_shipment")
    for event in ("picked_up", "delivered"):
        await carrier(api, shipped["logistics"]["tracking_number"], event)
    await wait_for_status(api, created["id"], "received")
    inspected = await api.operator.post(
        f"/v1/returns/{created['id']}/inspection",
        json={"lines": [{"line_id": "L1", "condition": "as_new", "disposition": "restock"}]},
    )
    assert inspected.status_code == 200, inspected.text
    await wait_for_status(api, created["id"], "completed")

    history = await api.temporal.get_workflow_handle(created["id"]).fetch_history()
    kinds = [EventType.Name(event.event_type).removeprefix("EVENT_TYPE_") for event in history.events]
    assert len(kinds) <= HAPPY_PATH_EVENTS, kinds
    # No partner call of the happy path waited as an activity of its own: each was one marker.
    assert "ACTIVITY_TASK_SCHEDULED" not in kinds
