"""The audit trail of a return over HTTP: every decision and act, with its actor, oldest first."""

from datetime import timedelta

import httpx
import pytest

from store.api_keys import find_key
from store.db import Database
from tests.api_client import Callers, carrier, put_order, wait_for_status
from tests.factories import NOW, order_body, return_body

TEE = order_body()["lines"][0]


async def key_id_of(database: Database, client: httpx.AsyncClient) -> str:
    async with database.sessions() as session:
        key = await find_key(session, client.headers["Authorization"].removeprefix("Bearer "))
    assert key is not None
    return key.id


async def customer_client(api: Callers, customer_id: str) -> httpx.AsyncClient:
    minted = await api.service.post("/v1/customer-sessions", json={"customer_id": customer_id})
    assert minted.status_code == 201, minted.text
    return httpx.AsyncClient(
        base_url=str(api.service.base_url), timeout=30, headers={"Authorization": f"Bearer {minted.json()['token']}"}
    )


async def audit_of(api: Callers, return_id: str, **params: str | int) -> list[dict]:
    response = await api.operator.get(f"/v1/returns/{return_id}/audit", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def acts(items: list[dict]) -> list[tuple[str, str, str]]:
    return [(item["action"], item["actor"]["role"], item["actor"]["id"]) for item in items]


async def test_a_returns_acts_are_audited_with_their_actors_in_order(api: Callers, database: Database) -> None:
    service, operator = await key_id_of(database, api.service), await key_id_of(database, api.operator)
    body = order_body()
    order_id = await put_order(api, **body)
    created = await api.service.post("/v1/returns", json=return_body(order_id=order_id))
    assert created.status_code == 201, created.text
    ret = created.json()
    async with await customer_client(api, body["customer_id"]) as customer:
        shipped = await wait_for_status(api, ret["id"], "awaiting_shipment")
        assert (await customer.post(f"/v1/returns/{ret['id']}/urge")).status_code == 202
        for event in ("picked_up", "delivered"):
            await carrier(api, shipped["logistics"]["tracking_number"], event)
        await wait_for_status(api, ret["id"], "received")
        inspection = {"lines": [{"line_id": "L1", "condition": "as_new", "disposition": "restock", "note": "sealed"}]}
        inspected = await api.operator.post(f"/v1/returns/{ret['id']}/inspection", json=inspection)
        assert inspected.status_code == 200, inspected.text
        await wait_for_status(api, ret["id"], "completed")
        disputed = await customer.post(f"/v1/returns/{ret['id']}/dispute", json={"message": "the refund is short"})
        assert disputed.status_code == 201, disputed.text

        items = await audit_of(api, ret["id"])
        by_customer = await customer.get(f"/v1/returns/{ret['id']}/audit")

    assert acts(items) == [
        ("return.create", "service", service),
        ("return.urge", "customer", body["customer_id"]),
        ("return.inspect", "operator", operator),
        ("return.dispute", "customer", body["customer_id"]),
    ]
    assert [item["at"] for item in items] == sorted(item["at"] for item in items)
    creation = items[0]["details"]
    assert creation["outcome"] == "auto_approved" and creation["rules"] == ret["decision"]["rules"]
    assert creation["policy_version"] == ret["policy_version"] and creation["overridden"] == []
    assert items[2]["details"]["lines"][0] == {**inspection["lines"][0]}
    assert items[3]["details"] == {"ticket_id": disputed.json()["id"]}, "the customer's words stay on the ticket"

    assert by_customer.status_code == 403 and by_customer.headers["content-type"] == "application/problem+json"
    assert (await api.anonymous.get(f"/v1/returns/{ret['id']}/audit")).status_code == 401
    unknown = await api.service.get("/v1/returns/ret_unknown/audit")
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"


async def test_review_cancel_and_overrides_are_audited(api: Callers, database: Database) -> None:
    service, operator = await key_id_of(database, api.service), await key_id_of(database, api.operator)
    costly = [{**TEE, "quantity": 1, "unit_price": "250.00"}]
    payments = [{"payment_id": "p1", "method": "card", "amount": "250.00", "provider_ref": "ch_1"}]
    order_id = await put_order(api, lines=costly, payments=payments)
    created = (await api.service.post("/v1/returns", json=return_body(order_id=order_id))).json()
    assert created["status"] == "under_review", created

    reviewed = await api.operator.post(
        f"/v1/returns/{created['id']}/review", json={"decision": "approve", "note": "photos check out"}
    )
    assert reviewed.status_code == 200, reviewed.text
    await wait_for_status(api, created["id"], "awaiting_shipment")
    assert (await api.service.post(f"/v1/returns/{created['id']}/cancel", json={"note": "kept it"})).status_code == 200

    items = await audit_of(api, created["id"])
    assert acts(items) == [
        ("return.create", "service", service),
        ("return.review", "operator", operator),
        ("return.cancel", "service", service),
    ]
    assert items[0]["details"]["outcome"] == "needs_review"
    assert items[1]["details"]["decision"] == "approve" and items[1]["details"]["note"] == "photos check out"
    assert items[2]["details"]["status"] == "canceled"

    late = await put_order(api, delivered_at=(NOW - timedelta(days=60)).isoformat())
    overridden = await api.operator.post(
        "/v1/returns",
        json={**return_body(order_id=late), "override": True, "override_reason": "courier delay, loyal customer"},
    )
    assert overridden.status_code == 201, overridden.text
    [creation] = await audit_of(api, overridden.json()["id"])
    assert (creation["action"], creation["actor"]) == ("return.create", {"role": "operator", "id": operator})
    assert creation["details"]["outcome"] == "approved"
    assert creation["details"]["override_reason"] == "courier delay, loyal customer"
    assert [(o["line_id"], o["code"]) for o in creation["details"]["overridden"]] == [("L1", "window_expired")]


@pytest.mark.parametrize("limit", [1, 2])
async def test_the_audit_is_paginated(api: Callers, limit: int) -> None:
    order_id = await put_order(api)
    ret = (await api.service.post("/v1/returns", json=return_body(order_id=order_id))).json()
    assert (await api.service.post(f"/v1/returns/{ret['id']}/urge")).status_code == 202
    assert (await api.service.post(f"/v1/returns/{ret['id']}/cancel", json={})).status_code == 200
    everything = await audit_of(api, ret["id"])
    assert len(everything) == 3

    pages, cursor = [], None
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        page = (await api.operator.get(f"/v1/returns/{ret['id']}/audit", params=params)).json()
        assert len(page["items"]) <= limit
        pages += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == everything
    bad = await api.operator.get(f"/v1/returns/{ret['id']}/audit", params={"cursor": "bm9wZQ=="})
    assert bad.status_code == 422 and bad.json()["errors"][0]["code"] == "invalid_cursor"
