"""Money in the store, on SQLite and PostgreSQL: what orders carry beyond their goods, what credit notes list,
and the claims that keep every tender from being refunded more than it paid."""

import asyncio
import json
import secrets
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from domain.orders import OrderIn
from domain.returns import RefundItem, Status
from store import returns, tender_claims
from store.db import Database
from store.ledger import money_lines, record_movement
from store.migrate import alembic_config
from store.orders import OrderConflict, get_order, upsert_order
from tests.conftest import fresh_postgres_database
from tests.factories import order_body, stored_order
from tests.test_console_queues import stored_return

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


async def test_the_read_of_a_return_joins_its_ledger_rows_in_order_and_none_when_it_has_none(
    database: Database,
) -> None:
    paid = await stored_return(database, Status.COMPLETED, datetime.now(UTC))
    unpaid = await stored_return(database, Status.RECEIVED, datetime.now(UTC))
    async with database.transaction() as session:
        for key, kind, amount in ((f"{paid.id}:refund:p1", "refund", "26.58"), (f"{paid.id}:fee:x", "fee", "-5.99")):
            await record_movement(
                session, paid.id, paid.order_id, idempotency_key=key, kind=kind, amount=Decimal(amount), currency="USD"
            )

    async with database.reading() as connection:
        with_money = await returns.stored_return(connection, paid.id)
        without = await returns.stored_return(connection, unpaid.id)
        missing = await returns.stored_return(connection, "ret_unknown")

    assert with_money is not None and without is not None and missing is None
    assert with_money.document["id"] == paid.id and with_money.customer_id == paid.customer_id
    assert [(line.kind, str(line.amount)) for line in with_money.money] == [("refund", "26.58"), ("fee", "-5.99")]
    assert without.document["id"] == unpaid.id and without.money == []


# ---- tender claims ------------------------------------------------------------------------------------------

TWO_TENDERS = [
    {"payment_id": "gc", "method": "gift_card", "amount": "19.98", "provider_ref": "gc_1"},
    {"payment_id": "card", "method": "card", "amount": "20.00", "provider_ref": "ch_1"},
]
PAYMENT_IDS = ["gc", "card"]


async def _claim(database: Database, order_id: str, return_id: str, amount: str) -> list[tuple[str, str]]:
    """``return_id`` is made unique to the order: the database is shared by the tests of a session."""
    return_id = f"{return_id}-{order_id}"
    async with database.transaction() as session:
        claimed = await tender_claims.claim(session, return_id, order_id, Decimal(amount), "USD", PAYMENT_IDS)
    return [(c.payment_id, str(c.amount)) for c in claimed]


async def _refunded(database: Database, order_id: str) -> dict[str, str]:
    async with database.sessions() as session:
        return {k: str(v) for k, v in (await tender_claims.refunded_per_tender(session, order_id, "USD")).items()}


async def test_claims_take_cards_first_and_never_more_than_a_tender_paid(database: Database) -> None:
    order = await stored_order(database, payments=TWO_TENDERS)

    first = await _claim(database, order.order_id, "ret_a", "19.99")
    second = await _claim(database, order.order_id, "ret_b", "19.99")
    third = await _claim(database, order.order_id, "ret_c", "5.00")

    assert first == [("card", "19.99")]
    assert second == [("card", "0.01"), ("gc", "19.98")]
    assert third == []
    assert await _refunded(database, order.order_id) == {"card": "20.00", "gc": "19.98"}


async def test_a_retried_claim_claims_nothing_twice_and_a_release_gives_back_once(database: Database) -> None:
    order = await stored_order(database, payments=TWO_TENDERS)
    first = await _claim(database, order.order_id, "ret_a", "25.00")

    again = await _claim(database, order.order_id, "ret_a", "25.00")
    assert again == first == [("card", "20.00"), ("gc", "5.00")]
    assert await _refunded(database, order.order_id) == {"card": "20.00", "gc": "5.00"}

    for _ in range(2):
        async with database.transaction() as session:
            await tender_claims.release(session, [f"ret_a-{order.order_id}:refund:card"])
    assert await _refunded(database, order.order_id) == {"card": "0.00", "gc": "5.00"}

    # Claiming again after a release takes up what is free now (the gift card's claim is still held).
    assert await _claim(database, order.order_id, "ret_a", "25.00") == [("gc", "5.00")]


async def test_an_order_update_keeps_what_its_tenders_refunded_and_cannot_take_it_away(database: Database) -> None:
    order = await stored_order(database, payments=TWO_TENDERS)
    await _claim(database, order.order_id, "ret_a", "15.00")

    async with database.transaction() as session:
        await upsert_order(session, order.order_id, OrderIn.model_validate(order_body(payments=TWO_TENDERS)))
    assert await _refunded(database, order.order_id) == {"card": "15.00", "gc": "0.00"}

    for payments in (
        [TWO_TENDERS[0], {**TWO_TENDERS[1], "amount": "14.99"}],  # less than was refunded
        [TWO_TENDERS[0]],  # a refunded tender removed
    ):
        with pytest.raises(OrderConflict, match="already refunded"):
            async with database.transaction() as session:
                await upsert_order(session, order.order_id, OrderIn.model_validate(order_body(payments=payments)))
    assert await _refunded(database, order.order_id) == {"card": "15.00", "gc": "0.00"}


async def test_fifty_simultaneous_claims_never_take_more_than_the_tenders_paid(database: Database) -> None:
    order = await stored_order(database, payments=TWO_TENDERS)

    async def claim(n: int) -> list[tuple[str, str]]:
        for _ in range(20):  # as Temporal would retry the local activity
            try:
                return await _claim(database, order.order_id, f"ret_{n}", "3.00")
            except (tender_claims.ClaimRaced, DBAPIError):
                await asyncio.sleep(0.01)
        raise AssertionError("never claimed")

    claims = await asyncio.gather(*(claim(n) for n in range(50)))

    taken: dict[str, Decimal] = {}
    for parts in claims:
        for payment_id, amount in parts:
            taken[payment_id] = taken.get(payment_id, Decimal(0)) + Decimal(amount)
    assert taken == {"card": Decimal("20.00"), "gc": Decimal("19.98")}
    assert await _refunded(database, order.order_id) == {"card": "20.00", "gc": "19.98"}


async def test_a_refund_paid_without_a_claim_still_counts_once(database: Database) -> None:
    order = await stored_order(database, payments=TWO_TENDERS)

    for _ in range(2):
        async with database.transaction() as session:
            await tender_claims.count_unclaimed_refund(
                session, "ret_old:refund:card", "ret_old", order.order_id, "card", 1999
            )

    assert await _refunded(database, order.order_id) == {"card": "19.99", "gc": "0.00"}
    assert await _claim(database, order.order_id, "ret_new", "1.00") == [("card", "0.01"), ("gc", "0.99")]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_the_migration_fills_the_tenders_and_claims_from_orders_and_the_ledger(backend, tmp_path) -> None:
    async with AsyncExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        else:
            url = await stack.enter_async_context(fresh_postgres_database())
        await asyncio.to_thread(command.upgrade, alembic_config(url), "0007_credit_note_items")
        database = Database(url)
        stack.push_async_callback(database.dispose)
        now = datetime.now(UTC)
        async with database.engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO orders (order_id, customer_id, currency, placed_at, fulfillment_status, payments,"
                    " updated_at) VALUES ('O1', 'C1', 'USD', :now, 'delivered', :payments, :now)"
                ),
                {"now": now, "payments": json.dumps(TWO_TENDERS)},
            )
            for key, payment_id, amount_minor in (("r1:refund:card", "card", 1500), ("r2:refund:card", "card", 900)):
                await connection.execute(
                    text(
                        "INSERT INTO ledger_entries (idempotency_key, return_id, order_id, kind, payment_id,"
                        " amount_minor, currency, created_at) VALUES (:key, :ret, 'O1', 'refund', :payment_id,"
                        " :amount, 'USD', :now)"
                    ),
                    {
                        "key": key,
                        "ret": key.split(":")[0],
                        "payment_id": payment_id,
                        "amount": amount_minor,
                        "now": now,
                    },
                )

        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")

        async with database.sessions() as session:
            refunded = await tender_claims.refunded_per_tender(session, "O1", "USD")
            # The ledger says the card gave back 24.00 of its 20.00 (a race before claims): it is full, no more.
            assert refunded == {"gc": Decimal("0.00"), "card": Decimal("20.00")}
            claimed = await tender_claims.claim(session, "r3", "O1", Decimal("1.00"), "USD", PAYMENT_IDS)
            assert [(c.payment_id, c.amount) for c in claimed] == [("gc", Decimal("1.00"))]
            # A refund already in the ledger is not counted a second time when it is recorded again.
            await tender_claims.count_unclaimed_refund(session, "r1:refund:card", "r1", "O1", "card", 1500)
            assert (await tender_claims.refunded_per_tender(session, "O1", "USD"))["card"] == Decimal("20.00")
