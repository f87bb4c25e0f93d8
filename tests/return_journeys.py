"""Returns brought to the step a console test starts from, through the REST API as a shop and a carrier would."""

import httpx

from domain.policy import DEFAULT_POLICY
from tests.api_client import Callers, carrier, default_policy, put_order, wait_for_status
from tests.factories import order_body, return_body

AS_NEW = {"lines": [{"line_id": "L1", "condition": "as_new", "disposition": "restock"}]}
# Worth more than the default policy's auto-approval limit: a reviewer decides.
EXPENSIVE_TEE = {**order_body()["lines"][0], "unit_price": "250.00"}


async def new_return(api: Callers, *, expensive: bool = False) -> dict:
    """A return of one tee: auto-approved, or (``expensive``) waiting for review."""
    lines = [EXPENSIVE_TEE] if expensive else [order_body()["lines"][0]]
    amount = "500.00" if expensive else "39.98"
    payments = [{"payment_id": "p1", "method": "card", "amount": amount, "provider_ref": "ch_1"}]
    order_id = await put_order(api, lines=lines, payments=payments)
    created = await api.service.post("/v1/returns", json=return_body(order_id=order_id))
    assert created.status_code == 201, created.text
    return created.json()


async def deliver(api: Callers, return_id: str) -> dict:
    """The carrier picks the parcel up and delivers it to the warehouse: the return is received."""
    shipped = await wait_for_status(api, return_id, "awaiting_shipment")
    for event in ("picked_up", "delivered"):
        assert (await carrier(api, shipped["logistics"]["tracking_number"], event)).status_code == 202
    return await wait_for_status(api, return_id, "received")


async def received(api: Callers) -> dict:
    return await deliver(api, (await new_return(api))["id"])


async def refund_failed(api: Callers, sandbox: httpx.AsyncClient) -> dict:
    """A received return inspected while the payment provider declines the refund, with no store-credit fallback:
    it waits for a person (``needs_attention``, ``refund_failed``)."""
    no_fallback = DEFAULT_POLICY.model_copy(update={"refund_failure_fallback": "none"})
    assert (await api.service.put("/v1/policy", json=no_fallback.model_dump(mode="json"))).status_code == 200
    try:
        parcel = await received(api)
    finally:
        await default_policy(api)
    fault = {"operation": "payments.refund", "mode": "decline", "times": 1}
    assert (await sandbox.post("/sandbox/faults", json=fault)).status_code in (200, 201)
    inspected = await api.operator.post(f"/v1/returns/{parcel['id']}/inspection", json=AS_NEW)
    assert inspected.status_code == 200, inspected.text
    stuck = await wait_for_status(api, parcel["id"], "needs_attention")
    assert stuck["attention"]["reason"] == "refund_failed", stuck["attention"]
    return stuck
