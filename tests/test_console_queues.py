"""The queues and the list of all returns over real HTTP: order, what each row shows, filters, pages, htmx."""

import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from domain.attention import Attention, AttentionReason, actions_for
from domain.policy import DEFAULT_POLICY
from domain.returns import Decision, Logistics, Refund, ReturnLine, ReturnView, Status, TimelineEntry
from store.db import Database
from store.policies import save_policy
from store.queues import queue_page
from store.returns import save_return
from tests.api_client import Callers
from tests.test_console_sessions import browser_for, log_in, new_operator

NOW = datetime.now(UTC).replace(microsecond=0)


async def stored_return(
    database: Database,
    status: Status,
    since: datetime,
    *,
    priority: str = "normal",
    policy_version: int = 1,
    reason: AttentionReason | None = None,
    order_id: str | None = None,
    customer_id: str | None = None,
    created_at: datetime | None = None,
) -> ReturnView:
    """A return as its workflow would have written it, in ``status`` since ``since``."""
    created = created_at or since - timedelta(hours=1)
    attention = (
        Attention(reason=reason, note=f"{reason} (test)", since=since, actions=actions_for(reason)) if reason else None
    )
    view = ReturnView(
        id="ret_" + secrets.token_hex(10),
        order_id=order_id or "O-" + secrets.token_hex(5),
        customer_id=customer_id or "C-" + secrets.token_hex(5),
        status=status,
        priority=priority,  # type: ignore[arg-type]
        lines=[
            ReturnLine(line_id="L1", quantity=2, reason="defective", liability="merchant", unit_price=Decimal("150.00"))
        ],
        decision=Decision(outcome="needs_review", risk="high", risk_reasons=["many returns lately"]),
        logistics=Logistics(method="mail", tracking_number="TRK" + secrets.token_hex(6).upper()),
        refund=Refund(amount=Decimal("300.00"), currency="USD"),
        timeline=[TimelineEntry(status=Status.REQUESTED, at=created), TimelineEntry(status=status, at=since)],
        attention=attention,
        policy_version=policy_version,
        created_at=created,
        updated_at=since,
    )
    async with database.transaction() as session:
        await save_return(session, view, revision=1)
    return view


@asynccontextmanager
async def signed_in(api: Callers, database: Database, language: str = "en") -> AsyncIterator[httpx.AsyncClient]:
    """A browser with a new operator logged in."""
    async with browser_for(api) as browser:
        assert (await log_in(browser, await new_operator(database, language))).status_code == 303
        yield browser


def positions(page: str, *ids: str) -> list[int]:
    found = [page.find(f'href="/console/returns/{return_id}"') for return_id in ids]
    assert all(at >= 0 for at in found), "a return is missing from the page"
    return found


def row_of(page: str, return_id: str) -> str:
    match = re.search(rf'<tr[^>]*>\s*<th scope="row">\s*<a href="/console/returns/{return_id}">.*?</tr>', page, re.S)
    assert match, f"no row for {return_id}"
    return match.group(0)


async def test_the_review_queue_shows_urged_returns_first_then_the_soonest_due(
    api: Callers, database: Database
) -> None:
    async with database.transaction() as session:
        quick_version = await save_policy(session, DEFAULT_POLICY.model_copy(update={"review_sla_hours": 4}))
    old = await stored_return(database, Status.UNDER_REVIEW, NOW - timedelta(hours=50))
    recent = await stored_return(database, Status.UNDER_REVIEW, NOW - timedelta(hours=2))
    urged = await stored_return(database, Status.UNDER_REVIEW, NOW - timedelta(hours=1), priority="high")
    quick = await stored_return(database, Status.UNDER_REVIEW, NOW - timedelta(hours=3), policy_version=quick_version)
    async with signed_in(api, database) as browser:
        page = await browser.get("/console/queues/review")
    assert page.status_code == 200
    assert 'aria-current="page"' in page.text and "Waiting for review" in page.text
    at = positions(page.text, urged.id, old.id, quick.id, recent.id)
    assert at == sorted(at), "urged first, then the one in review longest"

    row = row_of(page.text, urged.id)
    assert "Urged" in row and "300.00 USD" in row and "High" in row and urged.customer_id in row
    due = (NOW + timedelta(hours=47)).strftime("%Y-%m-%d %H:%M")
    assert due in row and "left" in row, "entered review an hour ago, due in 48 hours"
    assert "overdue by 2 h" in row_of(page.text, old.id)
    quick_row = row_of(page.text, quick.id)
    assert (NOW + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M") in quick_row, "its own policy version's 4 hours"


async def test_the_attention_queue_names_the_reason_and_the_actions_and_filters_by_reason(
    api: Callers, database: Database
) -> None:
    refund = await stored_return(database, Status.NEEDS_ATTENTION, NOW - timedelta(hours=5), reason="refund_failed")
    parcel = await stored_return(database, Status.NEEDS_ATTENTION, NOW - timedelta(hours=9), reason="carrier_exception")
    async with signed_in(api, database) as browser:
        every = await browser.get("/console/queues/attention")
        refunds = await browser.get("/console/queues/attention", params={"reason": "refund_failed"})
        unknown = await browser.get("/console/queues/attention", params={"reason": "bored"})
    assert positions(every.text, parcel.id, refund.id) == sorted(positions(every.text, parcel.id, refund.id))
    row = row_of(every.text, refund.id)
    assert "Refund failed" in row and "refund_failed (test)" in row
    assert "Retry the refund" in row and "Refund as store credit" in row and "Mark as refunded" in row
    assert "Close as lost" in row_of(every.text, parcel.id)
    assert refund.id in refunds.text and parcel.id not in refunds.text
    assert re.search(r'href="/console/queues/attention\?reason=refund_failed" aria-current="true"', refunds.text)
    assert unknown.status_code == 200 and "no attention reason" in unknown.text and parcel.id in unknown.text


async def test_the_inspection_queue_shows_the_parcel_that_arrived_first_first(api: Callers, database: Database) -> None:
    later = await stored_return(database, Status.RECEIVED, NOW - timedelta(hours=1))
    first = await stored_return(database, Status.RECEIVED, NOW - timedelta(days=3))
    async with signed_in(api, database) as browser:
        page = await browser.get("/console/queues/inspection")
    at = positions(page.text, first.id, later.id)
    assert at == sorted(at)
    row = row_of(page.text, first.id)
    assert f"<td>{first.logistics.tracking_number}</td>" in row and "3 d 0 h" in row


async def test_a_queue_is_read_a_page_at_a_time_in_its_order(database: Database) -> None:
    since = NOW - timedelta(days=400)  # before anything else the other tests keep in this queue
    made = [
        await stored_return(database, Status.RECEIVED, since + timedelta(minutes=n), priority=priority)
        for n, priority in enumerate(["normal", "high", "normal", "normal", "high"])
    ]
    expected = [made[1].id, made[4].id, made[0].id, made[2].id, made[3].id]
    seen: list[str] = []
    cursor = None
    async with database.sessions() as session:
        while len(seen) < len(expected):
            views, cursor = await queue_page(session, "inspection", 2, cursor)
            seen += [view.id for view in views if view.id in expected]
            assert cursor is not None
    assert seen == expected


async def test_all_returns_filter_by_each_id_status_and_day(api: Callers, database: Database) -> None:
    customer = "C-" + secrets.token_hex(5)
    day = datetime(2025, 6, 10, 15, 0, tzinfo=UTC)
    early = await stored_return(database, Status.COMPLETED, day, customer_id=customer, created_at=day)
    late = await stored_return(
        database, Status.REJECTED, day + timedelta(days=2), customer_id=customer, created_at=day + timedelta(days=2)
    )
    other = await stored_return(database, Status.COMPLETED, day)

    async def found(**params: Any) -> set[str]:
        page = await browser.get("/console/returns", params=params)
        assert page.status_code == 200, page.text
        return {view.id for view in (early, late, other) if f'href="/console/returns/{view.id}"' in page.text}

    async with signed_in(api, database) as browser:
        assert await found(customer_id=customer) == {early.id, late.id}
        assert await found(order_id=late.order_id) == {late.id}
        assert await found(tracking_number=early.logistics.tracking_number) == {early.id}
        assert await found(customer_id=customer, status="rejected") == {late.id}
        assert await found(customer_id=customer, created_from="2025-06-10", created_to="2025-06-10") == {early.id}
        assert await found(customer_id=customer, created_from="2025-06-11") == {late.id}
        for any_id in (early.id, early.order_id, early.logistics.tracking_number):
            assert await found(q=any_id) == {early.id}, any_id
        assert await found(q=customer) == {early.id, late.id}
        assert await found(q=early.id[:-1]) == set(), "an id is matched exactly"
        newest_first = (await browser.get("/console/returns", params={"customer_id": customer})).text
        assert positions(newest_first, late.id, early.id) == sorted(positions(newest_first, late.id, early.id))
        assert "Rejected" in row_of(newest_first, late.id) and "<td>Return</td>" in row_of(newest_first, late.id)


async def test_a_filter_that_cannot_be_read_is_named_and_the_rest_still_apply(api: Callers, database: Database) -> None:
    mine = await stored_return(database, Status.COMPLETED, NOW)
    async with signed_in(api, database) as browser:
        page = await browser.get(
            "/console/returns", params={"order_id": mine.order_id, "created_from": "last tuesday", "status": "lost"}
        )
    assert page.status_code == 200 and 'role="alert"' in page.text
    assert "created_from: &#39;last tuesday&#39; is not a date" in page.text and "no status" in page.text
    assert mine.id in page.text and 'value="last tuesday"' in page.text, "what was typed is kept"


async def test_the_next_page_link_carries_the_filters_and_a_cursor(api: Callers, database: Database) -> None:
    customer = "C-" + secrets.token_hex(5)
    made = [
        await stored_return(
            database, Status.COMPLETED, NOW, customer_id=customer, created_at=NOW - timedelta(minutes=n)
        )
        for n in range(53)
    ]
    async with signed_in(api, database) as browser:
        first = await browser.get("/console/returns", params={"customer_id": customer})
        link = re.search(r'<a href="([^"]+)" rel="next">', first.text)
        assert link, "a next page"
        next_url = link.group(1).replace("&amp;", "&")
        assert f"customer_id={customer}" in next_url and "cursor=" in next_url
        second = await browser.get(next_url)
        altered = await browser.get("/console/returns", params={"customer_id": customer, "cursor": "not-ours"})
    assert all(view.id in first.text for view in made[:50]) and made[50].id not in first.text
    assert {view.id for view in made[50:]} <= set(re.findall(r"ret_[0-9a-f]{20}", second.text))
    assert made[0].id not in second.text and 'rel="next"' not in second.text and "First page" in second.text
    assert "out of date" in altered.text and made[0].id in altered.text, "a cursor not handed out: the first page"


async def test_htmx_gets_the_list_alone_and_a_history_restore_the_whole_page(api: Callers, database: Database) -> None:
    mine = await stored_return(database, Status.COMPLETED, NOW)
    async with signed_in(api, database) as browser:
        fragment = await browser.get(
            "/console/returns", params={"order_id": mine.order_id}, headers={"HX-Request": "true"}
        )
        restored = await browser.get(
            "/console/returns",
            params={"order_id": mine.order_id},
            headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
        )
    assert fragment.text.lstrip().startswith('<div id="results">') and mine.id in fragment.text
    assert "<html" not in fragment.text
    assert "<html" in restored.text and mine.id in restored.text


async def test_the_queues_read_in_chinese_for_an_operator_who_picked_it(api: Callers, database: Database) -> None:
    waiting = await stored_return(database, Status.UNDER_REVIEW, NOW - timedelta(hours=1), priority="high")
    async with signed_in(api, database, language="zh-Hans") as browser:
        page = await browser.get("/console/queues/review")
        every = await browser.get("/console/returns", params={"order_id": waiting.order_id})
    row = row_of(page.text, waiting.id)
    assert "已催办" in row and "剩余 1 天 22 小时" in row and "等待审核" in page.text
    assert "审核中" in row_of(every.text, waiting.id)


async def test_no_queue_opens_without_signing_in(api: Callers) -> None:
    for path in (
        "/console/queues/review",
        "/console/queues/attention",
        "/console/queues/inspection",
        "/console/returns",
    ):
        for caller in (api.anonymous, api.operator):
            page = await caller.get(path)
            assert page.status_code == 303 and page.headers["location"].startswith("/console/login?next=/console/")
