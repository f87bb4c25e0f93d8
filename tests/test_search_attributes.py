"""What operators see of a return in Temporal UI: a summary in words on every timer and activity of its
history, and search attributes that follow it (messages/search_attributes.py)."""

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHandle
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

from domain.returns import Inspection, Status
from messages.search_attributes import SEARCH_ATTRIBUTES
from returnflow.temporal import data_converter
from store.db import Database
from tests.api_client import Callers, carrier, put_order, wait_for_status
from tests.factories import return_body
from tests.histories_io import keep_history
from tests.workflow_harness import NEEDS_REVIEW, reach, scan, start, tracking_of
from workflows.return_workflow import ReturnWorkflow

# The events a person reads as the return's steps: its timers, its activities and its local activities.
STEPS = {
    EventType.EVENT_TYPE_TIMER_STARTED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    EventType.EVENT_TYPE_MARKER_RECORDED,
}
LOCAL_ACTIVITY_MARKER = "core_local_activity"


def is_step(event: HistoryEvent) -> bool:
    if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
        return event.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER
    return event.event_type in STEPS


async def step_summaries(handle: WorkflowHandle) -> list[tuple[str, str]]:
    """(event type, summary in clear) for every step of the run's history; "" where a step has none."""
    history = await handle.fetch_history()
    converter = data_converter()
    steps = []
    for event in history.events:
        if not is_step(event):
            continue
        summary = ""
        if event.user_metadata.HasField("summary"):
            [summary] = await converter.decode([event.user_metadata.summary], [str])
        steps.append((EventType.Name(event.event_type).removeprefix("EVENT_TYPE_"), summary))
    return steps


async def attributes_of(handle: WorkflowHandle) -> dict[str, Any]:
    shown = (await handle.describe()).typed_search_attributes
    keys: list[SearchAttributeKey[Any]] = SEARCH_ATTRIBUTES
    return {key.name: shown.get(key) for key in keys}


async def test_a_completed_returns_steps_all_say_what_they_are(
    client, database: Database, sandbox: httpx.AsyncClient
) -> None:
    handle = await start(client, database)
    booked = await reach(handle, Status.AWAITING_SHIPMENT)
    for event in ("picked_up", "delivered"):
        await scan(handle, tracking_of(booked), event)
    await reach(handle, Status.RECEIVED)
    await handle.execute_update(
        ReturnWorkflow.inspect,
        Inspection.model_validate({"lines": [{"line_id": "L1", "condition": "as_new", "disposition": "restock"}]}),
    )
    final = await handle.result()
    await keep_history(handle, "completed-with-summaries")

    steps = await step_summaries(handle)
    assert [step for step in steps if not step[1]] == []
    summaries = [summary for _, summary in steps]
    assert "ship-by deadline 14 d" in summaries
    assert "book a mail shipment" in summaries
    assert "refund 19.99 USD to payment p1" in summaries
    assert await (await handle.describe()).static_summary() == f"return for order {final.order_id}"
    assert await attributes_of(handle) == {
        "ReturnStatus": "completed",
        "ReturnPriority": "normal",
        "ReturnType": "return",
        "OrderId": final.order_id,
        "RiskLevel": "low",
        "AttentionReason": None,
        "Channel": "api",
        "RefundAmount": 19.99,
        "PolicyVersion": 1,
    }


async def test_a_return_past_its_review_deadline_is_found_by_its_attention(
    client, database: Database, time_skipping_env: WorkflowEnvironment
) -> None:
    handle = await start(client, database, policy=NEEDS_REVIEW)
    await reach(handle, Status.UNDER_REVIEW)

    await time_skipping_env.sleep(timedelta(hours=49))
    await reach(handle, Status.NEEDS_ATTENTION)

    shown = await attributes_of(handle)
    assert (shown["ReturnStatus"], shown["ReturnPriority"], shown["AttentionReason"]) == (
        "needs_attention",
        "high",
        "review_overdue",
    )
    steps = await step_summaries(handle)
    assert [step for step in steps if not step[1]] == []
    assert ("TIMER_STARTED", "review deadline 2 d") in steps
    assert ("MARKER_RECORDED", "open a review_overdue ticket") in steps


async def test_the_api_starts_a_return_with_what_it_already_knows(api: Callers) -> None:
    order_id = await put_order(api)
    created = await api.service.post("/v1/returns", json=return_body(order_id=order_id, channel="storefront"))
    assert created.status_code == 201, created.text
    await wait_for_status(api, created.json()["id"], "awaiting_shipment")

    handle = api.temporal.get_workflow_handle(created.json()["id"])
    description = await handle.describe()
    assert await description.static_summary() == f"return for order {order_id}"
    version = created.json()["policy_version"]
    assert await description.static_details() == f"channel **storefront** · policy v{version} · risk **low**"
    shown = await attributes_of(handle)
    assert {name: shown[name] for name in ("OrderId", "Channel", "ReturnType", "RiskLevel")} == {
        "OrderId": order_id,
        "Channel": "storefront",
        "ReturnType": "return",
        "RiskLevel": "low",
    }
    assert shown["ReturnStatus"] == "awaiting_shipment" and shown["RefundAmount"] == 19.99

    # Set by the start call, before the workflow ran, with the status it waits in first: its first task upserts
    # nothing. The order, channel, policy, risk and type are never upserted again; a step upserts what it changed.
    def upserts() -> list[set[str]]:
        return [
            set(event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields)
            for event in events
            if event.HasField("upsert_workflow_search_attributes_event_attributes")
        ]

    events = (await handle.fetch_history()).events
    at_start = set(events[0].workflow_execution_started_event_attributes.search_attributes.indexed_fields)
    assert at_start == {
        "OrderId",
        "Channel",
        "PolicyVersion",
        "RiskLevel",
        "ReturnType",
        "ReturnStatus",
        "ReturnPriority",
        "RefundAmount",
    }
    assert upserts() == []
    await carrier(api, created.json()["logistics"]["tracking_number"], "picked_up")
    await wait_for_status(api, created.json()["id"], "in_transit")
    # The read model shows the status once the save's activity ends; the upsert follows in the next task.
    for _ in range(100):
        events = (await handle.fetch_history()).events
        if upserts():
            break
        await asyncio.sleep(0.02)
    assert upserts() == [{"ReturnStatus"}]
    assert (await attributes_of(handle))["ReturnStatus"] == "in_transit"
