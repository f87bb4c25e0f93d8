"""Money stays exact on the real stack (HTTP, worker, sandbox partners), on SQLite and PostgreSQL.

Returns of one order paying out at the same instant never refund a tender more than it paid; tax
and the original shipping go back as items of their own, in the Return and in the ledger's credit
notes.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from decimal import Decimal

import httpx

from domain.policy import DEFAULT_POLICY
from tests.api_client import Callers, keep_return_history, put_order, wait_for_status
from tests.factories import order_body, return_body

POLICY = DEFAULT_POLICY.model_dump(mode="json")
TEE = order_body()["lines"][0]


async def refunds_for(api: Callers, return_id: str) -> list[dict]:
    return (await api.sandbox.get("/payments/refunds", params={"reference": return_id})).json()["items"]


TWO_TENDERS = [
    {"payment_id": "card", "method": "card", "amount": "20.00", "provider_ref": "ch_1"},
    {"payment_id": "gift", "method": "gift_card", "amount": "19.98", "provider_ref": "gc_1"},
]
PAID = {payment["payment_id"]: Decimal(payment["amount"]) for payment in TWO_TENDERS}


async def _two_returns_paying_out_at_once(api: Callers) -> list[dict]:
    """Two returns of one unit each of an order of two, paid 20.00 by card and 19.98 by gift card."""
    order_id = await put_order(api, lines=[TEE], payments=TWO_TENDERS)
    body = return_body(
        order_id=order_id,
        lines=[{"line_id": "L1", "quantity": 1, "reason": "not_received"}],
        logistics={"method": "none"},
    )
    created = await asyncio.gather(*(api.service.post("/v1/returns", json=body) for _ in range(2)))
    assert [answer.status_code for answer in created] == [201, 201], [answer.text for answer in created]
    return [await wait_for_status(api, answer.json()["id"], "completed") for answer in created]


@asynccontextmanager
async def _short_keepalive(api: Callers) -> AsyncIterator[Callers]:
    """The same callers on clients that drop idle connections after a second: under load a batch can take
    longer than uvicorn's keep-alive (5 s), and reusing a connection it is closing fails with a ReadError."""
    limits = httpx.Limits(keepalive_expiry=1.0)
    async with (
        httpx.AsyncClient(base_url=api.service.base_url, headers=api.service.headers, timeout=60, limits=limits) as s,
        httpx.AsyncClient(base_url=api.sandbox.base_url, timeout=60, limits=limits) as sandbox,
    ):
        yield replace(api, service=s, sandbox=sandbox)


async def test_two_returns_paying_out_at_once_never_refund_a_tender_more_than_it_paid(api: Callers) -> None:
    async with _short_keepalive(api) as api:
        for _ in range(5):  # 50 orders, ten at a time
            await _check_batch(api)


async def _check_batch(api: Callers) -> None:
    """Ten orders at once, each with two returns paying out at once; each tender gives back what it paid."""
    batch = await asyncio.gather(*(_two_returns_paying_out_at_once(api) for _ in range(10)))
    for returns in batch:
        per_tender = {payment_id: Decimal(0) for payment_id in PAID}
        for done in returns:
            refunds = await refunds_for(api, done["id"])
            assert sum(Decimal(r["amount"]) for r in refunds) == Decimal("19.99"), refunds
            for refund in refunds:
                per_tender[refund["payment_id"]] += Decimal(refund["amount"])
            ledger = sorted(Decimal(m["amount"]) for m in done["money"] if m["kind"] == "refund")
            assert ledger == sorted(Decimal(r["amount"]) for r in refunds), "the ledger matches the provider"
        assert per_tender == PAID, per_tender


async def test_a_tender_that_refused_is_released_for_the_next_return(api: Callers) -> None:
    order_id = await put_order(api, lines=[TEE], payments=TWO_TENDERS)
    body = return_body(
        order_id=order_id,
        lines=[{"line_id": "L1", "quantity": 1, "reason": "not_received"}],
        logistics={"method": "none"},
    )
    await api.sandbox.post("/sandbox/faults", json={"operation": "payments.refund", "mode": "decline"})
    first = (await api.service.post("/v1/returns", json=body)).json()
    first = await wait_for_status(api, first["id"], "completed")
    assert await refunds_for(api, first["id"]) == []
    assert [(m["kind"], m["amount"]) for m in first["money"]] == [("store_credit", "19.99")]
    await keep_return_history(api, first["id"], "tender-claim-released")

    second = (await api.service.post("/v1/returns", json=body)).json()
    await wait_for_status(api, second["id"], "completed")

    # The card's claim went back when it refused, so the next return is refunded to the card again.
    assert [(r["payment_id"], r["amount"]) for r in await refunds_for(api, second["id"])] == [("card", "19.99")]


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
    await keep_return_history(api, created["id"], "refund-with-tax-and-shipping")

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
