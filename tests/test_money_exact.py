"""Money stays exact on the real stack (HTTP, worker, sandbox partners), on SQLite and PostgreSQL.

Tax and the original shipping go back as items of their own, in the Return and in the ledger's
credit notes.
"""

from decimal import Decimal

from domain.policy import DEFAULT_POLICY
from tests.api_client import Callers, put_order, wait_for_status
from tests.factories import order_body, return_body

POLICY = DEFAULT_POLICY.model_dump(mode="json")
TEE = order_body()["lines"][0]


async def refunds_for(api: Callers, return_id: str) -> list[dict]:
    return (await api.sandbox.get("/payments/refunds", params={"reference": return_id})).json()["items"]


async def test_a_full_merchant_liable_refund_gives_back_tax_and_shipping_as_items_of_their_own(api: Callers) -> None:
    await api.service.put("/v1/policy", json={**POLICY, "refund_original_shipping": "merchant_liable_full_return"})
    try:
        order_id = await put_order(
            api,
            lines=[{**TEE, "tax": "3.20"}],
            shipping={"amount": "4.99", "tax": "0.40"},
            payments=[{"payment_id": "p1", "method": "card", "amount": "48.57", "provider_ref": "ch_1"}],
        )
        body = return_body(
            order_id=order_id,
            lines=[{"line_id": "L1", "quantity": 2, "reason": "not_received"}],
            logistics={"method": "none"},
        )
        preview = (await api.service.post("/v1/returns/preview", json=body)).json()
        created = (await api.service.post("/v1/returns", json=body)).json()
    finally:
        await api.service.put("/v1/policy", json=POLICY)
    done = await wait_for_status(api, created["id"], "completed")

    expected = [
        {"kind": "goods", "line_id": "L1", "amount": "39.98"},
        {"kind": "tax", "line_id": "L1", "amount": "3.20"},
        {"kind": "shipping", "line_id": None, "amount": "4.99"},
        {"kind": "shipping_tax", "line_id": None, "amount": "0.40"},
    ]
    assert preview["refund_items"] == expected and preview["refund_estimate"] == "48.57"
    assert done["refund"]["items"] == expected and done["refund"]["amount"] == "48.57"
    assert [r["amount"] for r in await refunds_for(api, created["id"])] == ["48.57"]
    [money] = done["money"]
    assert money["kind"] == "refund" and money["items"] == expected


async def test_partial_returns_refund_the_line_tax_to_the_cent_and_no_shipping(api: Callers) -> None:
    order_id = await put_order(
        api,
        lines=[{**TEE, "quantity": 3, "tax": "1.00"}],
        shipping={"amount": "4.99", "tax": "0.40"},
        payments=[{"payment_id": "p1", "method": "card", "amount": "65.36", "provider_ref": "ch_1"}],
    )
    taxes = []
    for _ in range(3):
        body = return_body(
            order_id=order_id,
            lines=[{"line_id": "L1", "quantity": 1, "reason": "not_received"}],
            logistics={"method": "none"},
        )
        created = (await api.service.post("/v1/returns", json=body)).json()
        done = await wait_for_status(api, created["id"], "completed")
        taxes += [Decimal(item["amount"]) for item in done["refund"]["items"] if item["kind"] == "tax"]
        assert not [item for item in done["refund"]["items"] if item["kind"].startswith("shipping")]

    assert taxes == [Decimal("0.33"), Decimal("0.33"), Decimal("0.34")]
