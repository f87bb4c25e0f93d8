"""An exchange checked against the catalog, over HTTP on the real stack: the same product, a known sku, and
a price difference settled (refunded or asked for) or refused as the policy says."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from domain.policy import DEFAULT_POLICY
from tests.api_client import Callers, carrier, keep_return_history, put_order, wait_for_status
from tests.factories import return_body

POLICY = DEFAULT_POLICY.model_dump(mode="json")


@pytest.fixture
async def policy(api: Callers) -> AsyncIterator[Any]:
    """Set a policy for one test; the default comes back after it."""

    async def use(**changes: Any) -> None:
        response = await api.service.put("/v1/policy", json={**POLICY, **changes})
        assert response.status_code == 200, response.text

    await use()
    yield use
    await use()


def exchange(order_id: str, sku: str, reason: str = "size_fit") -> dict[str, Any]:
    return return_body(
        order_id=order_id,
        lines=[{"line_id": "L1", "quantity": 1, "reason": reason}],
        resolution="exchange",
        exchange_items=[{"line_id": "L1", "sku": sku}],
    )


async def refused(api: Callers, body: dict[str, Any]) -> list[dict[str, str]]:
    preview = (await api.service.post("/v1/returns/preview", json=body)).json()
    created = await api.service.post("/v1/returns", json=body)
    assert created.status_code == 422, created.text
    errors = created.json()["errors"]
    assert [e for e in errors if e["code"] != "resolution_not_offered"] == preview["exchange_errors"]
    return errors


async def test_an_unknown_sku_is_refused_on_its_line(api: Callers, policy: Any) -> None:
    order_id = await put_order(api)
    errors = await refused(api, exchange(order_id, "TEE-NO-SUCH-SKU"))
    assert [(e["line_id"], e["code"]) for e in errors] == [("L1", "unknown_sku")]


async def test_a_replacement_of_another_product_is_refused(api: Callers, policy: Any) -> None:
    order_id = await put_order(api)
    errors = await refused(api, exchange(order_id, "MUG-01"))
    assert [(e["line_id"], e["code"]) for e in errors] == [("L1", "exchange_not_same_product")]


async def test_a_catalog_that_is_down_is_a_503_with_retry_after(api: Callers, policy: Any) -> None:
    order_id = await put_order(api)
    fault = {"operation": "catalog.get_variant", "mode": "unavailable", "times": 1}
    assert (await api.sandbox.post("/sandbox/faults", json=fault)).status_code in (200, 201)

    response = await api.service.post("/v1/returns", json=exchange(order_id, "TEE-RED-L"))

    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["Retry-After"]) > 0


async def test_a_price_difference_is_refused_when_the_policy_says_so(api: Callers, policy: Any) -> None:
    await policy(exchange_price_difference="refuse")
    order_id = await put_order(api)
    errors = await refused(api, exchange(order_id, "TEE-PREMIUM-L"))
    assert [(e["line_id"], e["code"]) for e in errors] == [("L1", "exchange_price_differs")]

    same_price = await api.service.post("/v1/returns", json=exchange(order_id, "TEE-RED-L"))
    assert same_price.status_code == 201, same_price.text


async def test_a_cheaper_replacement_refunds_the_difference(api: Callers, policy: Any) -> None:
    await api.sandbox.post("/warehouse/stock/TEE-BASIC-L", json={"quantity": 1})
    order_id = await put_order(api)
    body = exchange(order_id, "TEE-BASIC-L")
    preview = (await api.service.post("/v1/returns/preview", json=body)).json()

    created = await api.service.post("/v1/returns", json=body)

    assert created.status_code == 201, created.text
    ret = created.json()
    assert ret["exchange"] == preview["exchange"] | {"payment_request": None, "hold": None}
    assert ret["exchange"]["items"] == [{"line_id": "L1", "sku": "TEE-BASIC-L", "quantity": 1, "unit_price": "14.99"}]
    assert ret["exchange"]["price_difference"] == "-5.00"
    assert ret["refund"]["amount"] == "5.00"
    assert ret["refund"]["items"] == [{"kind": "price_difference", "line_id": "L1", "amount": "5.00"}]
    shipped = await wait_for_status(api, ret["id"], "awaiting_shipment")
    for event in ("picked_up", "delivered"):
        await carrier(api, shipped["logistics"]["tracking_number"], event)
    await wait_for_status(api, ret["id"], "received")
    lines = [{"line_id": "L1", "condition": "as_new", "disposition": "restock"}]
    assert (await api.operator.post(f"/v1/returns/{ret['id']}/inspection", json={"lines": lines})).status_code == 200
    done = await wait_for_status(api, ret["id"], "completed")

    refunds = (await api.sandbox.get("/payments/refunds", params={"reference": ret["id"]})).json()["items"]
    assert [r["amount"] for r in refunds] == ["5.00"]
    assert done["refund"]["status"] == "succeeded"
    await keep_return_history(api, ret["id"], "exchange-price-difference-refunded")


async def test_a_dearer_replacement_asks_the_customer_for_the_difference(api: Callers, policy: Any) -> None:
    await api.sandbox.post("/warehouse/stock/TEE-PREMIUM-L", json={"quantity": 1})
    order_id = await put_order(api)

    created = await api.service.post("/v1/returns", json=exchange(order_id, "TEE-PREMIUM-L"))

    assert created.status_code == 201, created.text
    ret = created.json()
    assert ret["exchange"]["price_difference"] == "5.00" and ret["refund"]["amount"] == "0.00"
    shipped = await wait_for_status(api, ret["id"], "awaiting_shipment")
    asked = shipped["exchange"]["payment_request"]
    assert asked["amount"] == "5.00" and asked["status"] == "requested"
    assert asked["idempotency_key"] == f"{ret['id']}:payment_request"
    requests = (await api.sandbox.get("/payments/payment-requests", params={"reference": ret["id"]})).json()
    assert [(r["payment_request_id"], r["amount"]) for r in requests["items"]] == [
        (asked["payment_request_id"], "5.00")
    ]
