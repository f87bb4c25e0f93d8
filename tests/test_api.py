"""The REST API over real HTTP, on the real Temporal dev server, with a real worker.

These follow a return the way a backend service, a carrier and a warehouse
would drive it, and check what each of them sees.
"""

import asyncio

import httpx
import pytest

from tests.api_client import Callers, carrier, put_order, wait_for_status
from tests.factories import new_order_id, order_body, return_body


async def test_a_return_from_request_to_refund(api: Callers) -> None:
    order_id = await put_order(api)

    created = await api.service.post("/v1/returns", json=return_body(order_id=order_id))

    assert created.status_code == 201, created.text
    ret = created.json()
    assert ret["decision"]["outcome"] == "auto_approved" and ret["decision"]["rules"]
    assert ret["lines"][0]["liability"] == "merchant"
    assert ret["refund"] == {**ret["refund"], "amount": "19.99", "currency": "USD", "status": "pending"}
    order = (await api.service.get(f"/v1/orders/{order_id}")).json()
    assert order["lines"][0]["returnable_quantity"] == 1

    shipped = await wait_for_status(api, ret["id"], "awaiting_shipment")
    tracking = shipped["logistics"]["tracking_number"]
    assert tracking and shipped["logistics"]["label_url"] and shipped["logistics"]["ship_by"]
    for event in ("picked_up", "picked_up", "delivered"):
        assert (await carrier(api, tracking, event)).status_code == 202
    await wait_for_status(api, ret["id"], "received")

    inspected = await api.operator.post(
        f"/v1/returns/{ret['id']}/inspection",
        json={"lines": [{"line_id": "L1", "condition": "as_new", "disposition": "restock", "note": "sealed"}]},
    )
    assert inspected.status_code == 200, inspected.text
    done = await wait_for_status(api, ret["id"], "completed")

    assert done["refund"]["status"] == "succeeded"
    assert done["lines"][0]["condition"] == "as_new"
    assert [t["status"] for t in done["timeline"]] == [
        "requested",
        "approved",
        "awaiting_shipment",
        "in_transit",
        "received",
        "inspected",
        "refund_pending",
        "completed",
    ]
    refunds = (await api.sandbox.get("/payments/refunds", params={"reference": ret["id"]})).json()["items"]
    assert [(r["amount"], r["idempotency_key"]) for r in refunds] == [("19.99", f"{ret['id']}:refund:p1")]
    stock = (await api.sandbox.get("/warehouse/stock")).json()
    assert stock.get("TEE-RED-M", 0) >= 1


async def test_customer_liable_return_deducts_the_shipping_fee(api: Callers) -> None:
    order_id = await put_order(api)
    body = return_body(order_id=order_id, lines=[{"line_id": "L1", "quantity": 2, "reason": "changed_mind"}])

    ret = (await api.service.post("/v1/returns", json=body)).json()

    assert ret["lines"][0]["liability"] == "customer"
    assert ret["refund"]["fees"] == [{"kind": "return_shipping", "amount": "5.99"}]
    assert ret["refund"]["amount"] == "33.99"


async def test_cancel_before_shipping_and_conflict_after(api: Callers) -> None:
    order_id = await put_order(api)
    first = (await api.service.post("/v1/returns", json=return_body(order_id=order_id))).json()
    await wait_for_status(api, first["id"], "awaiting_shipment")

    canceled = await api.service.post(f"/v1/returns/{first['id']}/cancel", json={"note": "changed my mind"})

    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    order = (await api.service.get(f"/v1/orders/{order_id}")).json()
    assert order["lines"][0]["returnable_quantity"] == 2, "canceling gave the unit back"

    second = (await api.service.post("/v1/returns", json=return_body(order_id=order_id))).json()
    shipped = await wait_for_status(api, second["id"], "awaiting_shipment")
    await carrier(api, shipped["logistics"]["tracking_number"], "picked_up")
    await wait_for_status(api, second["id"], "in_transit")
    late = await api.service.post(f"/v1/returns/{second['id']}/cancel", json={})
    assert late.status_code == 409
    assert late.headers["content-type"] == "application/problem+json"
    early = await api.operator.post(
        f"/v1/returns/{first['id']}/inspection",
        json={"lines": [{"line_id": "L1", "condition": "as_new", "disposition": "restock"}]},
    )
    assert early.status_code == 409


@pytest.mark.parametrize(
    ("change", "status", "where"),
    [
        ({"order_id": "no-such-order"}, 422, {"field": "order_id", "code": "unknown_order"}),
        (
            {"lines": [{"line_id": "L9", "quantity": 1, "reason": "defective"}]},
            422,
            {"line_id": "L9", "code": "unknown_line"},
        ),
        (
            {"lines": [{"line_id": "L1", "quantity": 3, "reason": "defective"}]},
            422,
            {"line_id": "L1", "code": "quantity_exceeds_returnable"},
        ),
        ({"lines": [{"line_id": "L1", "quantity": 0, "reason": "defective"}]}, 422, {"field": "lines.0.quantity"}),
        ({"lines": [{"line_id": "L1", "quantity": -1, "reason": "defective"}]}, 422, {"field": "lines.0.quantity"}),
        ({"lines": [{"line_id": "L1", "quantity": 1, "reason": "bored"}]}, 422, {"field": "lines.0.reason"}),
        (
            {"lines": [{"line_id": "L2", "quantity": 1, "reason": "defective"}]},
            422,
            {"line_id": "L2", "code": "final_sale"},
        ),
        ({"status": "completed"}, 422, {"field": "status", "code": "extra_forbidden"}),
        ({"logistics": {"method": "pickup"}}, 422, {"field": "logistics.method"}),
    ],
)
async def test_bad_return_requests_name_the_problem_and_create_nothing(
    api: Callers, change: dict, status: int, where: dict
) -> None:
    order_id = await put_order(api)
    body = {**return_body(order_id=order_id), **change}

    response = await api.service.post("/v1/returns", json=body)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert {"type", "title", "status", "detail"} <= problem.keys()
    assert any(where.items() <= error.items() for error in problem["errors"]), problem
    listed = (await api.service.get("/v1/returns", params={"order_id": order_id})).json()
    assert listed["items"] == []
    order = (await api.service.get(f"/v1/orders/{order_id}")).json()
    assert order["lines"][0]["returnable_quantity"] == 2


async def test_malformed_json_and_credentials(api: Callers) -> None:
    malformed = await api.service.post(
        "/v1/returns", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    assert (await api.anonymous.get("/v1/returns")).status_code == 401
    wrong = httpx.AsyncClient(base_url=str(api.service.base_url), headers={"Authorization": "Bearer nope"})
    async with wrong:
        assert (await wrong.get("/v1/returns")).status_code == 401
    operator_reviews_nothing = await api.service.post("/v1/returns/ret_unknown/review", json={"decision": "approve"})
    assert operator_reviews_nothing.status_code == 403, "reviewing is for operators"
    assert (await api.service.get("/v1/returns/ret_unknown")).status_code == 404


async def test_bad_orders_are_refused_with_the_field_named(api: Callers) -> None:
    cases = [
        (order_body(currency="usd"), "currency"),
        (order_body(lines=[{**order_body()["lines"][0], "unit_price": 19.99}]), "lines.0.unit_price"),
        (order_body(lines=[{**order_body()["lines"][0], "unit_price": "-1"}]), "lines.0.unit_price"),
        (order_body(lines=[{**order_body()["lines"][0], "quantity": 0}]), "lines.0.quantity"),
    ]
    for body, field in cases:
        response = await api.service.put(f"/v1/orders/{new_order_id()}", json=body)
        assert response.status_code == 422, response.text
        assert field in [e["field"] for e in response.json()["errors"]], response.json()


async def test_listing_pages_through_returns_newest_first(api: Callers) -> None:
    order_id = await put_order(api, lines=[{**order_body()["lines"][0], "quantity": 5}])
    ids = []
    for _ in range(3):
        ret = await api.service.post("/v1/returns", json=return_body(order_id=order_id))
        ids.append(ret.json()["id"])

    seen, cursor = [], None
    while True:
        page = (
            await api.operator.get(
                "/v1/returns", params={"order_id": order_id, "limit": 2, **({"cursor": cursor} if cursor else {})}
            )
        ).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == list(reversed(ids))
    bad = await api.operator.get("/v1/returns", params={"cursor": "garbage"})
    assert bad.status_code == 422


async def test_a_cancel_racing_a_carrier_scan_is_answered_200_or_409_never_503(api: Callers) -> None:
    """Both may win; the caller always learns which, and no workflow task fails on the way."""
    outcomes = []
    for _ in range(10):
        order_id = await put_order(api)
        created = (await api.service.post("/v1/returns", json=return_body(order_id=order_id))).json()
        tracking = (await wait_for_status(api, created["id"], "awaiting_shipment"))["logistics"]["tracking_number"]
        canceled, scanned = await asyncio.gather(
            api.service.post(f"/v1/returns/{created['id']}/cancel", json={}), carrier(api, tracking, "picked_up")
        )
        outcomes.append(canceled.status_code)
        assert canceled.status_code in (200, 409), canceled.text
        assert scanned.status_code == 202, scanned.text
        history = await api.temporal.get_workflow_handle(created["id"]).fetch_history()
        failed_tasks = [event for event in history.events if event.HasField("workflow_task_failed_event_attributes")]
        assert not failed_tasks, failed_tasks[0].workflow_task_failed_event_attributes
    assert set(outcomes) <= {200, 409}
