"""Money in the store, on SQLite and PostgreSQL: what orders carry beyond their goods, what credit notes list."""

import secrets
from decimal import Decimal

from domain.returns import RefundItem
from store.db import Database
from store.ledger import money_lines, record_movement
from store.orders import get_order
from tests.factories import order_body, stored_order

TEE, MUG = order_body()["lines"]


async def test_line_tax_and_the_orders_shipping_are_kept_to_the_cent(database: Database) -> None:
    order = await stored_order(
        database,
        lines=[{**TEE, "tax": "3.20"}, {**MUG, "tax": "1.01"}],
        shipping={"amount": "4.99", "tax": "0.40"},
    )

    async with database.sessions() as session:
        found = await get_order(session, order.order_id)

    assert found is not None
    stored, _ = found
    assert [line.tax for line in stored.lines] == [Decimal("3.20"), Decimal("1.01")]
    assert stored.shipping is not None
    assert (stored.shipping.amount, stored.shipping.tax) == (Decimal("4.99"), Decimal("0.40"))
    assert stored == order.model_copy(update={"shipping_address": stored.shipping_address})


async def test_an_order_without_tax_or_shipping_reads_back_as_zero_tax_and_no_shipping(database: Database) -> None:
    order = await stored_order(database)

    async with database.sessions() as session:
        found = await get_order(session, order.order_id)

    assert found is not None
    stored, _ = found
    assert [line.tax for line in stored.lines] == [Decimal(0), Decimal(0)]
    assert stored.shipping is None
    dumped = stored.model_dump(mode="json")
    assert Decimal(dumped["lines"][0]["tax"]) == 0 and dumped["shipping"] is None


async def test_a_credit_note_keeps_the_items_it_paid_for(database: Database) -> None:
    return_id = "ret_" + secrets.token_hex(6)
    items = [
        RefundItem(kind="goods", line_id="L1", amount=Decimal("19.99")),
        RefundItem(kind="tax", line_id="L1", amount=Decimal("1.60")),
        RefundItem(kind="shipping", amount=Decimal("4.99")),
    ]
    async with database.transaction() as session:
        for key, kind, amount, its_items in (
            (f"{return_id}:refund:p1", "refund", Decimal("26.58"), items),
            (f"{return_id}:fee:return_shipping", "fee", Decimal("-5.99"), None),
        ):
            await record_movement(
                session, return_id, "O1", idempotency_key=key, kind=kind, amount=amount, currency="USD", items=its_items
            )

    async with database.sessions() as session:
        refund, fee = await money_lines(session, return_id)

    assert refund.items == items
    assert fee.items == []
