"""A store full of returns, as a shop with some months of history has it, written straight to the database.

``seed_store(database, count)`` writes ``count`` returns in the mix of statuses a live
shop shows (most completed, a few hundred waiting in each operator queue), each with its
order, its audit entries and, once paid, its ledger row. The returns are ``ReturnView``
documents as their workflows would have written them, stored with the same columns
``store.returns.save_return`` keeps (``row_columns``), in bulk: no workflow runs. The data
is drawn from a seeded random generator, so two runs hold the same store.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select

from domain.attention import Attention, AttentionReason, actions_for
from domain.orders import OrderIn
from domain.returns import (
    Decision,
    Logistics,
    Reason,
    Refund,
    RefundItem,
    ReturnLine,
    ReturnRequest,
    ReturnView,
    Status,
    TimelineEntry,
)
from store import audit, ledger
from store.db import Database
from store.orders import upsert_order
from store.returns import row_columns
from store.tables import ReturnRow

BATCH = 500
CUSTOMERS = 3000
# How many in every hundred returns show each status.
STATUS_MIX: dict[Status, int] = {
    Status.COMPLETED: 55,
    Status.AWAITING_SHIPMENT: 8,
    Status.IN_TRANSIT: 8,
    Status.CANCELED: 6,
    Status.UNDER_REVIEW: 5,
    Status.RECEIVED: 4,
    Status.REJECTED: 4,
    Status.NEEDS_ATTENTION: 3,
    Status.EXPIRED: 3,
    Status.REQUESTED: 1,
    Status.APPROVED: 1,
    Status.INSPECTED: 1,
    Status.REFUND_PENDING: 1,
}
FORWARD = (
    Status.REQUESTED,
    Status.UNDER_REVIEW,
    Status.APPROVED,
    Status.AWAITING_SHIPMENT,
    Status.IN_TRANSIT,
    Status.RECEIVED,
    Status.INSPECTED,
    Status.REFUND_PENDING,
    Status.COMPLETED,
)
# The forward step after which each ending off the forward path comes, and after which each attention.
LEFT_AFTER = {
    Status.REJECTED: Status.UNDER_REVIEW,
    Status.CANCELED: Status.APPROVED,
    Status.EXPIRED: Status.AWAITING_SHIPMENT,
}
ATTENTION_AFTER: dict[AttentionReason, Status] = {
    "refund_failed": Status.INSPECTED,
    "review_overdue": Status.UNDER_REVIEW,
    "inspection_overdue": Status.RECEIVED,
    "transit_overdue": Status.IN_TRANSIT,
    "carrier_exception": Status.IN_TRANSIT,
    "compensation_failed": Status.AWAITING_SHIPMENT,
}
CUSTOMER_REASONS = (Reason.CHANGED_MIND, Reason.SIZE_FIT, Reason.BETTER_PRICE, Reason.OTHER)
PRODUCTS = (
    ("TEE", "apparel", "19.99"),
    ("JEANS", "apparel", "59.00"),
    ("MUG", "home", "12.50"),
    ("LAMP", "home", "89.00"),
    ("PHONE", "electronics", "649.00"),
    ("CABLE", "electronics", "9.99"),
    ("SHOE", "footwear", "120.00"),
    ("BAG", "accessories", "210.00"),
)
RETURN_SHIPPING_FEE = Decimal("5.99")


@dataclass(frozen=True)
class Seeded:
    """A return written by the seed: what a bench needs to ask for it."""

    return_id: str
    order_id: str
    customer_id: str
    tracking_number: str | None
    status: Status
    created_at: datetime


@dataclass(frozen=True)
class _Shop:
    """One return, its order and how it came about, before it is written."""

    view: ReturnView
    request: ReturnRequest
    order: OrderIn
    reviewed: bool


async def seed_store(database: Database, count: int, now: datetime, seed: int = 10) -> list[Seeded]:
    """Top the store up to ``count`` returns (none are written when it holds that many already)."""
    columns = (ReturnRow.id, ReturnRow.order_id, ReturnRow.customer_id, ReturnRow.tracking_number)
    async with database.sessions() as session:
        held = (await session.execute(select(*columns, ReturnRow.status, ReturnRow.created_at))).all()
    seeded = [Seeded(*row[:4], status=Status(row[4]), created_at=row[5]) for row in held]
    shops = list(generated_shops(random.Random(seed + len(held)), max(0, count - len(held)), now, first=len(held)))
    for start in range(0, len(shops), BATCH):
        batch = shops[start : start + BATCH]
        async with database.transaction() as session:
            for shop in batch:
                await upsert_order(session, shop.view.order_id, shop.order)
            rows = [
                {"id": s.view.id, "request": s.request.model_dump(mode="json"), **row_columns(s.view, 1)} for s in batch
            ]
            await session.execute(insert(ReturnRow), rows)
            for shop in batch:
                await _record_history(session, shop)
        seeded += [_seeded(shop.view) for shop in batch]
    return seeded


def _seeded(view: ReturnView) -> Seeded:
    return Seeded(
        view.id, view.order_id, view.customer_id, view.logistics.tracking_number, view.status, view.created_at
    )


async def _record_history(session: Any, shop: _Shop) -> None:
    view = shop.view
    await audit.record(session, "service:key_bench", "return.create", view.id, rules=view.decision.rules)
    if shop.reviewed and view.status not in (Status.UNDER_REVIEW, Status.REQUESTED):
        decision = "reject" if view.status == Status.REJECTED else "approve"
        await audit.record(session, "operator:bench-reviewer", "return.review", view.id, decision=decision)
    if view.refund.status == "succeeded":
        await ledger.record_movement(
            session,
            view.id,
            view.order_id,
            idempotency_key=f"{view.id}:refund:p1",
            kind="refund",
            amount=view.refund.amount,
            currency=view.refund.currency,
            payment_id="p1",
            provider_ref="re_" + view.id[4:16],
            credit_note="CN-" + view.id[4:16].upper(),
            items=view.refund.items,
        )


def generated_shops(rng: random.Random, count: int, now: datetime, first: int) -> Iterator[_Shop]:
    statuses, weights = list(STATUS_MIX), list(STATUS_MIX.values())
    for number in range(first, first + count):
        yield _shop(rng, number, rng.choices(statuses, weights)[0], now)


def _shop(rng: random.Random, number: int, status: Status, now: datetime) -> _Shop:
    return_id = f"ret_{rng.getrandbits(80):020x}"
    order_id, customer_id = f"BO-{number:07d}", f"BC-{rng.randrange(CUSTOMERS):05d}"
    lines = _lines(rng)
    value = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
    risk = rng.choices(["low", "medium", "high"], [80, 15, 5])[0]
    reviewed = status in (Status.UNDER_REVIEW, Status.REJECTED) or value > Decimal("200") or risk == "high"
    reason: AttentionReason | None = None
    if status == Status.NEEDS_ATTENTION:
        reason = rng.choice(list(ATTENTION_AFTER))
        reviewed = reviewed or reason == "review_overdue"
    path = _path(status, reviewed, reason)
    open_return = status not in (Status.COMPLETED, Status.REJECTED, Status.CANCELED, Status.EXPIRED)
    steps = [timedelta(hours=rng.uniform(0.02, 40)) for _ in path]
    age = timedelta(days=rng.uniform(0, 3 if open_return else 88))
    created = now - age - sum(steps[1:], timedelta())
    timeline, at = [], created
    for entry, step in zip(path, steps, strict=True):
        at = at if entry == Status.REQUESTED else at + step
        timeline.append(TimelineEntry(status=entry, at=at))
    shipped = FORWARD.index(Status.IN_TRANSIT) <= max(FORWARD.index(s) for s in path if s in FORWARD)
    booked = Status.AWAITING_SHIPMENT in path
    fee = RETURN_SHIPPING_FEE if any(line.liability == "customer" for line in lines) else Decimal(0)
    inspected = Status.INSPECTED in path or reason == "refund_failed"
    if inspected:
        lines = [
            line.model_copy(
                update={
                    "condition": rng.choice(["as_new", "opened", "damaged"]),
                    "disposition": rng.choice(["restock", "refurbish", "liquidate"]),
                }
            )
            for line in lines
        ]
    refund_status = "succeeded" if status == Status.COMPLETED else "failed" if reason == "refund_failed" else "pending"
    view = ReturnView(
        id=return_id,
        order_id=order_id,
        customer_id=customer_id,
        status=status,
        priority="high" if open_return and rng.random() < 0.08 else "normal",
        lines=lines,
        decision=Decision(
            outcome=(
                "rejected"
                if status == Status.REJECTED
                else "needs_review"
                if status == Status.UNDER_REVIEW
                else "approved"
                if reviewed
                else "auto_approved"
            ),
            rules=[f"worth {value} USD" + (", above the 200.00 auto-approval limit" if value > 200 else "")],
            risk=risk,  # type: ignore[arg-type]
            risk_reasons=["returned 4 orders in the last 90 days"] if risk == "high" else [],
        ),
        logistics=Logistics(
            method="mail",
            carrier="sandbox-post" if booked else None,
            tracking_number=f"1Z{rng.getrandbits(48):012X}" if booked else None,
            label_url=f"https://labels.example/{return_id}.pdf" if booked else None,
            ship_by=timeline[0].at + timedelta(days=14) if booked else None,
        ),
        refund=Refund(
            amount=max(value - fee, Decimal(0)),
            currency="USD",
            items=[
                RefundItem(kind="goods", line_id=line.line_id, amount=line.unit_price * line.quantity) for line in lines
            ],
            fees=[{"kind": "return_shipping", "amount": fee}] if fee else [],  # type: ignore[list-item]
            status=refund_status,  # type: ignore[arg-type]
        ),
        timeline=timeline,
        attention=(
            Attention(
                reason=reason,
                note=f"{reason.replace('_', ' ')} (seeded)",
                since=timeline[-1].at,
                actions=actions_for(reason, in_transit=shipped),
            )
            if reason
            else None
        ),
        policy_version=1,
        created_at=created,
        updated_at=timeline[-1].at,
    )
    request = ReturnRequest(
        order_id=order_id,
        lines=[{"line_id": line.line_id, "quantity": line.quantity, "reason": line.reason} for line in lines],  # type: ignore[misc]
    )
    return _Shop(view=view, request=request, order=_order(customer_id, lines, created), reviewed=reviewed)


def _path(status: Status, reviewed: bool, reason: AttentionReason | None) -> list[Status]:
    """The statuses a return went through to show ``status``, in order."""
    last_forward = ATTENTION_AFTER[reason] if reason else LEFT_AFTER.get(status, status)
    path = [s for s in FORWARD[: FORWARD.index(last_forward) + 1] if reviewed or s != Status.UNDER_REVIEW]
    return path if path[-1] == status else [*path, status]


def _lines(rng: random.Random) -> list[ReturnLine]:
    lines = []
    for position in range(rng.choices([1, 2, 3], [70, 22, 8])[0]):
        product, _category, price = rng.choice(PRODUCTS)
        reason = rng.choice(list(Reason))
        lines.append(
            ReturnLine(
                line_id=f"L{position + 1}",
                quantity=rng.choices([1, 2], [85, 15])[0],
                reason=reason,
                liability="customer" if reason in CUSTOMER_REASONS else "merchant",
                unit_price=Decimal(price),
                sku=f"{product}-{rng.choice('SML')}",
            )
        )
    return lines


def _order(customer_id: str, lines: list[ReturnLine], returned_at: datetime) -> OrderIn:
    total = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
    products = {product: category for product, category, _price in PRODUCTS}
    return OrderIn.model_validate(
        {
            "customer_id": customer_id,
            "currency": "USD",
            "placed_at": (returned_at - timedelta(days=6)).isoformat(),
            "fulfillment_status": "delivered",
            "delivered_at": (returned_at - timedelta(days=2)).isoformat(),
            "lines": [
                {
                    "line_id": line.line_id,
                    "sku": line.sku,
                    "product_id": line.sku.split("-")[0],
                    "title": line.sku.split("-")[0].title(),
                    "category": products[line.sku.split("-")[0]],
                    "kind": "physical",
                    "quantity": line.quantity,
                    "unit_price": str(line.unit_price),
                }
                for line in lines
            ],
            "payments": [{"payment_id": "p1", "method": "card", "amount": str(total), "provider_ref": "ch_bench"}],
            "shipping_address": {
                "name": "Bench Customer",
                "line1": "1 Test St",
                "city": "Springfield",
                "postal_code": "12345",
                "country": "US",
            },
        }
    )
