"""Every way money goes back, over HTTP on the real stack, with partners failing on purpose.

Each test checks what the customer gets (the payments sandbox), what the
merchant's books say (the ledger on GET /v1/returns/{id}) and what an operator
sees (status, timeline, tickets).
"""

import asyncio
import random
import secrets
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from domain.policy import DEFAULT_POLICY
from tests.api_client import Callers, carrier, keep_return_history, put_order, wait_for_status
from tests.factories import order_body, return_body

POLICY = DEFAULT_POLICY.model_dump(mode="json")
TEE = order_body()["lines"][0]
COURSE = {
    "line_id": "V1",
    "sku": "COURSE-PY",
    "product_id": "COURSE",
    "title": "Python course",
    "category": "courses",
    "kind": "virtual",
    "quantity": 1,
    "unit_price": "30.00",
    "final_sale": False,
}


async def refunds_for(api: Callers, return_id: str) -> list[dict]:
    return (await api.sandbox.get("/payments/refunds", params={"reference": return_id})).json()["items"]


async def ship_and_receive(api: Callers, return_id: str) -> None:
    shipped = await wait_for_status(api, return_id, "awaiting_shipment")
    for event in ("picked_up", "delivered"):
        await carrier(api, shipped["logistics"]["tracking_number"], event)
    await wait_for_status(api, return_id, "received")


async def inspect_as_new(api: Callers, return_id: str, *line_ids: str) -> None:
    lines = [{"line_id": line_id, "condition": "as_new", "disposition": "restock"} for line_id in line_ids]
    response = await api.operator.post(f"/v1/returns/{return_id}/inspection", json={"lines": lines})
    assert response.status_code == 200, response.text


async def test_a_parcel_that_never_arrived_is_refunded_without_logistics(api: Callers) -> None:
    order_id = await put_order(api)
    body = return_body(
        order_id=order_id,
        lines=[{"line_id": "L1", "quantity": 2, "reason": "not_received"}],
        logistics={"method": "none"},
    )

    created = (await api.service.post("/v1/returns", json=body)).json()
    done = await wait_for_status(api, created["id"], "completed")

    assert done["type"] == "refund_only" and done["logistics"]["method"] == "none"
    await keep_return_history(api, created["id"], "refund-only")
    assert [r["amount"] for r in await refunds_for(api, created["id"])] == ["39.98"]
    [money] = done["money"]
    assert money["kind"] == "refund" and money["amount"] == "39.98" and money["credit_note"].startswith("CN-")


async def test_virtual_goods_are_revoked_before_the_refund(api: Callers) -> None:
    order_id = await put_order(
        api,
        lines=[COURSE],
        payments=[{"payment_id": "p1", "method": "card", "amount": "30.00", "provider_ref": "ch_1"}],
    )
    body = return_body(
        order_id=order_id,
        lines=[{"line_id": "V1", "quantity": 1, "reason": "not_as_described"}],
        logistics={"method": "none"},
    )

    created = (await api.service.post("/v1/returns", json=body)).json()
    await wait_for_status(api, created["id"], "completed")

    revoked = (await api.sandbox.get("/fulfilment/revocations", params={"reference": created["id"]})).json()
    assert [(r["line_id"], r["status"]) for r in revoked["items"]] == [("V1", "revoked")]
    assert [r["amount"] for r in await refunds_for(api, created["id"])] == ["30.00"]


async def test_a_mixed_order_revokes_and_refunds_its_virtual_part_only_after_the_parcel_arrives(api: Callers) -> None:
    order_id = await put_order(
        api,
        lines=[TEE, COURSE],
        payments=[{"payment_id": "p1", "method": "card", "amount": "69.98", "provider_ref": "ch_1"}],
    )
    body = return_body(
        order_id=order_id,
        lines=[
            {"line_id": "L1", "quantity": 1, "reason": "defective"},
            {"line_id": "V1", "quantity": 1, "reason": "defective"},
        ],
    )
    created = (await api.service.post("/v1/returns", json=body)).json()
    await wait_for_status(api, created["id"], "awaiting_shipment")
    revocations = f"/fulfilment/revocations?reference={created['id']}"
    assert (await api.sandbox.get(revocations)).json()["items"] == []

    await ship_and_receive(api, created["id"])
    await inspect_as_new(api, created["id"], "L1", "V1")
    await wait_for_status(api, created["id"], "completed")

    assert len((await api.sandbox.get(revocations)).json()["items"]) == 1
    assert [r["amount"] for r in await refunds_for(api, created["id"])] == ["49.99"]


async def test_store_credit_is_paid_with_the_policy_bonus(api: Callers) -> None:
    order_id = await put_order(api)
    body = return_body(order_id=order_id, resolution="store_credit")

    created = (await api.service.post("/v1/returns", json=body)).json()
    assert created["refund"]["method"] == "store_credit" and created["refund"]["amount"] == "21.99"
    await ship_and_receive(api, created["id"])
    await inspect_as_new(api, created["id"], "L1")
    done = await wait_for_status(api, created["id"], "completed")

    credits = (await api.sandbox.get("/payments/store-credits", params={"reference": created["id"]})).json()
    assert [c["amount"] for c in credits["items"]] == ["21.99"]
    assert await refunds_for(api, created["id"]) == []
    assert [(m["kind"], m["amount"]) for m in done["money"]] == [("store_credit", "21.99")]


async def test_a_declined_refund_falls_back_to_store_credit(api: Callers) -> None:
    order_id = await put_order(api)
    created = (await api.service.post("/v1/returns", json=return_body(order_id=order_id))).json()
    await ship_and_receive(api, created["id"])
    await api.sandbox.post("/sandbox/faults", json={"operation": "payments.refund", "mode": "decline"})

    await inspect_as_new(api, created["id"], "L1")
    done = await wait_for_status(api, created["id"], "completed")

    assert await refunds_for(api, created["id"]) == []
    credits = (await api.sandbox.get("/payments/store-credits", params={"reference": created["id"]})).json()
    assert [c["amount"] for c in credits["items"]] == ["19.99"]
    assert "paid as store credit instead" in done["timeline"][-1]["note"]
    await keep_return_history(api, created["id"], "store-credit-fallback")
    assert [(m["kind"], m["amount"]) for m in done["money"]] == [("store_credit", "19.99")]


async def declined_without_fallback(api: Callers) -> tuple[dict, dict]:
    """A return received under a policy without a store-credit fallback, whose refund the card declines:
    the created return, and the return as it waits for a person."""
    await api.service.put("/v1/policy", json={**POLICY, "refund_failure_fallback": "none"})
    try:
        order_id = await put_order(api)
        created = (await api.service.post("/v1/returns", json=return_body(order_id=order_id))).json()
    finally:
        await api.service.put("/v1/policy", json=POLICY)
    await ship_and_receive(api, created["id"])
    await api.sandbox.post("/sandbox/faults", json={"operation": "payments.refund", "mode": "decline"})
    await inspect_as_new(api, created["id"], "L1")
    return created, await wait_for_status(api, created["id"], "needs_attention")


async def test_without_a_fallback_a_declined_refund_needs_a_person(api: Callers) -> None:
    created, stuck = await declined_without_fallback(api)

    assert stuck["refund"]["status"] == "failed" and stuck["priority"] == "high"
    assert stuck["attention"]["reason"] == "refund_failed"
    tickets = (await api.operator.get("/v1/tickets", params={"return_id": created["id"]})).json()["items"]
    assert [(t["kind"], t["status"]) for t in tickets] == [("refund_failed", "open")]
    # The ticket is resolved by acting on the return: without an action it would change nothing.
    unsaid = await api.operator.post(f"/v1/tickets/{tickets[0]['id']}/resolve", json={"resolution": "done"})
    assert unsaid.status_code == 409 and "mark_refunded" in unsaid.json()["detail"]
    resolved = await api.operator.post(
        f"/v1/tickets/{tickets[0]['id']}/resolve",
        json={"resolution": "refunded by bank transfer", "action": "mark_refunded", "reference": "BT-1"},
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    done = await wait_for_status(api, created["id"], "completed")
    assert done["attention"] is None
    assert [(m["kind"], m["amount"], m["provider_ref"]) for m in done["money"]] == [("refund_outside", "19.99", "BT-1")]


async def test_a_declined_refund_is_retried_by_an_operator_and_paid_exactly_once(api: Callers) -> None:
    created, stuck = await declined_without_fallback(api)
    assert stuck["attention"]["actions"] == ["retry_refund", "refund_as_store_credit", "mark_refunded"]

    not_offered = await api.operator.post(f"/v1/returns/{created['id']}/resolve", json={"action": "close_as_lost"})
    assert not_offered.status_code == 409
    unknown = await api.operator.post(f"/v1/returns/{created['id']}/resolve", json={"action": "shrug"})
    assert unknown.status_code == 422
    retried = await api.operator.post(f"/v1/returns/{created['id']}/resolve", json={"action": "retry_refund"})

    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "completed" and retried.json()["attention"] is None
    assert [r["amount"] for r in await refunds_for(api, created["id"])] == ["19.99"]
    tickets = (await api.operator.get("/v1/tickets", params={"return_id": created["id"]})).json()["items"]
    assert [(t["kind"], t["status"]) for t in tickets] == [("refund_failed", "resolved")]


async def test_refund_on_first_scan_pays_while_the_parcel_travels(api: Callers) -> None:
    await api.service.put("/v1/policy", json={**POLICY, "refund_trigger": "first_scan"})
    try:
        order_id = await put_order(api)
        created = (await api.service.post("/v1/returns", json=return_body(order_id=order_id))).json()
    finally:
        await api.service.put("/v1/policy", json=POLICY)
    shipped = await wait_for_status(api, created["id"], "awaiting_shipment")

    await carrier(api, shipped["logistics"]["tracking_number"], "picked_up")
    for _ in range(100):
        if await refunds_for(api, created["id"]):
            break
        await asyncio.sleep(0.05)

    # The money moved before the parcel's arrival; the view catches up within the same workflow task.
    assert await refunds_for(api, created["id"])
    await wait_for_status(api, created["id"], "in_transit")
    await carrier(api, shipped["logistics"]["tracking_number"], "delivered")
    await wait_for_status(api, created["id"], "received")
    await inspect_as_new(api, created["id"], "L1")
    await wait_for_status(api, created["id"], "completed")
    assert len(await refunds_for(api, created["id"])) == 1


async def test_a_customer_disputes_an_ended_return_only(api: Callers) -> None:
    order_id = await put_order(api)
    created = (await api.service.post("/v1/returns", json=return_body(order_id=order_id))).json()
    early = await api.service.post(f"/v1/returns/{created['id']}/dispute", json={"message": "where is my money"})
    assert early.status_code == 409
    await api.service.post(f"/v1/returns/{created['id']}/cancel", json={})

    disputed = await api.service.post(f"/v1/returns/{created['id']}/dispute", json={"message": "I did ship it"})

    assert disputed.status_code == 201 and disputed.json()["kind"] == "dispute"
    tickets = (await api.operator.get("/v1/tickets", params={"status": "open"})).json()["items"]
    assert created["id"] in [t["return_id"] for t in tickets]


async def test_fifty_simultaneous_requests_never_return_more_units_than_were_bought(api: Callers) -> None:
    order_id = await put_order(api, lines=[{**TEE, "quantity": 3}])
    body = return_body(order_id=order_id)

    began = datetime.now(UTC)
    answers = await asyncio.gather(*(api.service.post("/v1/returns", json=body) for _ in range(50)))

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses.count(201) == 3, statuses
    assert set(statuses) <= {201, 422}, [a.json() for a in answers if a.status_code not in (201, 422)][:2]
    order = (await api.service.get(f"/v1/orders/{order_id}")).json()
    assert order["lines"][0]["returnable_quantity"] == 0
    # A request refused inside its workflow (the claim lost the race) ends completed: Temporal UI's failures
    # are only real ones.
    await asyncio.sleep(2)  # visibility follows the workflows' closing by a moment
    failed = f"WorkflowType = 'ReturnWorkflow' AND ExecutionStatus = 'Failed' AND StartTime >= '{began.isoformat()}'"
    assert [wf.id async for wf in api.temporal.list_workflows(failed)] == []


@pytest.mark.parametrize("seed", [1, 2])
async def test_partial_returns_never_refund_more_than_was_paid_and_the_ledger_balances(api: Callers, seed: int) -> None:
    chooser = random.Random(seed)
    lines = [
        {**TEE, "line_id": f"L{n}", "quantity": chooser.randint(1, 3), "unit_price": f"{chooser.randint(5, 40)}.99"}
        for n in range(1, 4)
    ]
    paid = sum(Decimal(line["unit_price"]) * line["quantity"] for line in lines)
    order_id = await put_order(
        api, lines=lines, payments=[{"payment_id": "p1", "method": "card", "amount": str(paid), "provider_ref": "ch_1"}]
    )
    returned = []
    for _ in range(6):
        line = chooser.choice(lines)
        reason = chooser.choice(["defective", "changed_mind", "not_received"])
        response = await api.service.post(
            "/v1/returns",
            json=return_body(
                order_id=order_id,
                lines=[{"line_id": line["line_id"], "quantity": 1, "reason": reason}],
                logistics={"method": "none" if reason == "not_received" else "mail"},
            ),
        )
        if response.status_code == 201:
            returned.append(response.json())
    for ret in returned:
        if ret["type"] == "return":
            await ship_and_receive(api, ret["id"])
            await inspect_as_new(api, ret["id"], ret["lines"][0]["line_id"])
        await wait_for_status(api, ret["id"], "completed")

    refunded = [Decimal(r["amount"]) for ret in returned for r in await refunds_for(api, ret["id"])]
    assert sum(refunded) <= paid
    ledger = [
        Decimal(m["amount"])
        for ret in returned
        for m in (await api.service.get(f"/v1/returns/{ret['id']}")).json()["money"]
        if m["kind"] == "refund"
    ]
    assert sorted(ledger) == sorted(refunded), "the ledger matches the payment provider to the cent"


async def test_an_unshipped_order_is_intercepted_and_refunded_in_full_at_once(api: Callers) -> None:
    order_id = await put_order(api, fulfillment_status="unfulfilled", delivered_at=None)
    body = return_body(
        order_id=order_id,
        lines=[{"line_id": "L1", "quantity": 2, "reason": "changed_mind"}],
        logistics={"method": "none"},
    )

    created = (await api.service.post("/v1/returns", json=body)).json()
    done = await wait_for_status(api, created["id"], "completed")

    assert done["type"] == "cancellation" and done["refund"]["fees"] == []
    await keep_return_history(api, created["id"], "cancellation")
    assert [r["amount"] for r in await refunds_for(api, created["id"])] == ["39.98"]
    intercepts = (await api.sandbox.get("/warehouse/intercepts", params={"reference": created["id"]})).json()
    assert len(intercepts["items"]) == 1


async def test_a_cancellation_whose_parcel_already_left_becomes_a_return(api: Callers) -> None:
    order_id = await put_order(api, fulfillment_status="unfulfilled", delivered_at=None)
    await api.sandbox.post("/sandbox/faults", json={"operation": "warehouse.intercept", "mode": "decline"})

    created = (await api.service.post("/v1/returns", json=return_body(order_id=order_id))).json()
    shipped = await wait_for_status(api, created["id"], "awaiting_shipment")

    assert shipped["type"] == "return"
    assert any("already left the warehouse" in entry["note"] for entry in shipped["timeline"])
    assert await refunds_for(api, created["id"]) == []


async def test_an_exchange_ships_the_other_size_and_refunds_nothing(api: Callers) -> None:
    await api.sandbox.post("/warehouse/stock/TEE-RED-L", json={"quantity": 5})
    order_id = await put_order(api)
    body = return_body(
        order_id=order_id,
        lines=[{"line_id": "L1", "quantity": 1, "reason": "size_fit"}],
        resolution="exchange",
        exchange_items=[{"line_id": "L1", "sku": "TEE-RED-L"}],
    )

    created = await api.service.post("/v1/returns", json=body)
    assert created.status_code == 201, created.text
    ret = created.json()
    assert ret["type"] == "exchange" and ret["refund"]["amount"] == "0.00"
    shipped = await wait_for_status(api, ret["id"], "awaiting_shipment")
    reservations = f"/warehouse/reservations?reference={ret['id']}"
    assert [r["status"] for r in (await api.sandbox.get(reservations)).json()["items"]] == ["reserved"]

    await carrier(api, shipped["logistics"]["tracking_number"], "picked_up")
    await carrier(api, shipped["logistics"]["tracking_number"], "delivered")
    await wait_for_status(api, ret["id"], "received")
    await inspect_as_new(api, ret["id"], "L1")
    done = await wait_for_status(api, ret["id"], "completed")

    assert [r["status"] for r in (await api.sandbox.get(reservations)).json()["items"]] == ["shipped"]
    await keep_return_history(api, ret["id"], "exchange")
    assert await refunds_for(api, ret["id"]) == [] and done["money"] == []


async def test_canceling_an_exchange_releases_the_reserved_replacement(api: Callers) -> None:
    sku = "TEE-RED-S-" + secrets.token_hex(3)  # the sandbox's shelf is shared by every test
    await api.sandbox.post(f"/warehouse/stock/{sku}", json={"quantity": 1})
    await api.sandbox.put(f"/catalog/variants/{sku}", json={"product_id": "TEE", "price": "19.99"})
    order_id = await put_order(api)
    body = return_body(order_id=order_id, resolution="exchange", exchange_items=[{"line_id": "L1", "sku": sku}])
    ret = (await api.service.post("/v1/returns", json=body)).json()
    await wait_for_status(api, ret["id"], "awaiting_shipment")

    await api.service.post(f"/v1/returns/{ret['id']}/cancel", json={})

    reservations = (await api.sandbox.get(f"/warehouse/reservations?reference={ret['id']}")).json()["items"]
    assert [r["status"] for r in reservations] == ["released"]
    assert (await api.sandbox.get("/warehouse/stock")).json()[sku] == 1


async def test_an_exchange_out_of_stock_becomes_store_credit_never_a_silent_failure(api: Callers) -> None:
    order_id = await put_order(api)
    body = return_body(
        order_id=order_id, resolution="exchange", exchange_items=[{"line_id": "L1", "sku": "TEE-NEVER-STOCKED"}]
    )

    ret = (await api.service.post("/v1/returns", json=body)).json()
    shipped = await wait_for_status(api, ret["id"], "awaiting_shipment")

    assert shipped["type"] == "return" and shipped["refund"]["method"] == "store_credit"
    assert any("out of stock" in entry["note"] for entry in shipped["timeline"])


async def test_an_exchange_must_name_a_replacement_for_each_line(api: Callers) -> None:
    order_id = await put_order(api)
    response = await api.service.post("/v1/returns", json=return_body(order_id=order_id, resolution="exchange"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "exchange_item_missing"
