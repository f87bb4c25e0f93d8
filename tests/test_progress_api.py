"""``GET /v1/returns/{id}/progress``: the progress bar of a return driven over HTTP, checked at every step."""

import asyncio

from tests.api_client import Callers, bearer_client, carrier, customer_token, wait_for_status
from tests.return_journeys import AS_NEW, new_return

PATH = ["requested", "approved", "picked_up", "received", "inspected", "refunded"]


async def nodes_at(api: Callers, return_id: str, status: str) -> list[tuple[str, str]]:
    """The nodes' (key, state) once the return is ``status``; each node reached has its time, the others none."""
    await wait_for_status(api, return_id, status)
    response = await api.service.get(f"/v1/returns/{return_id}/progress")
    assert response.status_code == 200, response.text
    nodes = response.json()["nodes"]
    assert all((node["at"] is not None) == (node["state"] == "done") for node in nodes), nodes
    return [(node["key"], node["state"]) for node in nodes]


def along(done: int) -> list[tuple[str, str]]:
    """The path done up to ``done`` nodes, the next one current, the rest upcoming."""
    states = ["done"] * done + ["current"] + ["upcoming"] * (len(PATH) - done - 1)
    return list(zip(PATH, states[: len(PATH)], strict=True))


async def test_the_progress_follows_a_return_from_request_to_refund(api: Callers) -> None:
    return_id = (await new_return(api, expensive=True))["id"]
    assert await nodes_at(api, return_id, "under_review") == along(1)

    assert (await api.operator.post(f"/v1/returns/{return_id}/review", json={"decision": "approve"})).status_code == 200
    tracking = (await wait_for_status(api, return_id, "awaiting_shipment"))["logistics"]["tracking_number"]
    assert await nodes_at(api, return_id, "awaiting_shipment") == along(2)

    assert (await carrier(api, tracking, "picked_up")).status_code == 202
    assert await nodes_at(api, return_id, "in_transit") == along(3)

    assert (await carrier(api, tracking, "delivered")).status_code == 202
    assert await nodes_at(api, return_id, "received") == along(4)

    # The payment provider is down for a while (the quick tries within the workflow task and the first
    # attempt of the activity fail): the return shows it waits for its refund, inspected.
    down = {"operation": "payments.refund", "mode": "unavailable", "times": 3}
    assert (await api.sandbox.post("/sandbox/faults", json=down)).status_code in (200, 201)
    assert (await api.operator.post(f"/v1/returns/{return_id}/inspection", json=AS_NEW)).status_code == 200
    assert await nodes_at(api, return_id, "refund_pending") == along(5)

    assert await nodes_at(api, return_id, "completed") == along(6)
    labels = [node["label"] for node in (await api.service.get(f"/v1/returns/{return_id}/progress")).json()["nodes"]]
    assert labels == ["Requested", "Approved", "Picked up", "Received", "Inspected", "Refunded"]


async def test_a_canceled_return_skips_the_rest_and_customers_see_only_their_own(api: Callers) -> None:
    created = await new_return(api)
    await wait_for_status(api, created["id"], "awaiting_shipment")
    assert (await api.service.post(f"/v1/returns/{created['id']}/cancel", json={})).status_code == 200
    assert await nodes_at(api, created["id"], "canceled") == [
        ("requested", "done"),
        ("approved", "done"),
        ("canceled", "done"),
        ("picked_up", "skipped"),
        ("received", "skipped"),
        ("inspected", "skipped"),
        ("refunded", "skipped"),
    ]
    owner, stranger = await asyncio.gather(
        customer_token(api, created["customer_id"]), customer_token(api, "someone-else")
    )
    async with bearer_client(api, owner) as as_owner, bearer_client(api, stranger) as as_stranger:
        assert (await as_owner.get(f"/v1/returns/{created['id']}/progress")).status_code == 200
        refused = await as_stranger.get(f"/v1/returns/{created['id']}/progress")
    assert refused.status_code == 404 and refused.headers["content-type"] == "application/problem+json"
    assert (await api.anonymous.get(f"/v1/returns/{created['id']}/progress")).status_code == 401
