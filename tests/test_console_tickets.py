"""The console's tickets over HTTP: filtered and paged, resolved with a note or with the return's action."""

import re
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest

from store import tickets
from store.audit import entries as audit_entries
from store.db import Database
from store.tickets import TicketView
from tests.api_client import Callers, default_policy, wait_for_status
from tests.console_login import signed_in
from tests.test_console_sessions import form_token
from tests.test_money_paths import declined_without_fallback


@pytest.fixture
async def console(api: Callers, database: Database) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    await default_policy(api)
    async with signed_in(api, database) as session:
        yield session


async def open_ticket(database: Database, kind: str = "reconciliation", return_id: str | None = None) -> TicketView:
    async with database.transaction() as session:
        return await tickets.open_ticket(
            session,
            kind=kind,  # type: ignore[arg-type]
            summary=f"{kind} {secrets.token_hex(4)}",
            return_id=return_id,
            details={"expected": "19.99", "found": "0.00"},
        )


def listed(page: httpx.Response) -> list[str]:
    return re.findall(r'<a href="/console/tickets/(tkt_[0-9a-f]+)">', page.text)


async def test_tickets_are_filtered_by_kind_and_state_newest_first(
    database: Database, console: tuple[httpx.AsyncClient, str]
) -> None:
    browser, _ = console
    mismatch = await open_ticket(database, "reconciliation")
    breach = await open_ticket(database, "sla_breach")
    later = await open_ticket(database, "reconciliation")
    async with database.transaction() as session:
        await tickets.resolve_ticket(session, breach.id, "called the carrier")

    open_ones = listed(await browser.get("/console/tickets"))
    mismatches = listed(await browser.get("/console/tickets", params={"kind": "reconciliation"}))
    resolved = listed(await browser.get("/console/tickets", params={"state": "resolved", "kind": "sla_breach"}))
    every = listed(await browser.get("/console/tickets", params={"state": "all"}))

    assert mismatch.id in open_ones and breach.id not in open_ones
    assert mismatches.index(later.id) < mismatches.index(mismatch.id)  # newest first
    assert breach.id not in mismatches
    assert resolved[0] == breach.id and mismatch.id not in resolved
    assert {mismatch.id, breach.id, later.id} <= set(every)
    page = await browser.get("/console/tickets", params={"kind": "reconciliation"})
    assert "Reconciliation mismatch" in page.text and '<option value="reconciliation" selected>' in page.text


async def test_the_list_is_paged_by_a_cursor(database: Database, console: tuple[httpx.AsyncClient, str]) -> None:
    browser, _ = console
    opened = {(await open_ticket(database, "workflow_ended")).id for _ in range(55)}

    first = await browser.get("/console/tickets", params={"kind": "workflow_ended"})
    link = re.search(r'<a rel="next" href="([^"]+)"', first.text)
    assert link, "no next page"
    second = await browser.get(link.group(1).replace("&amp;", "&"))
    bad = await browser.get("/console/tickets", params={"kind": "workflow_ended", "cursor": "not-a-cursor"})

    assert len(listed(first)) == 50
    assert not set(listed(first)) & set(listed(second))
    assert opened <= set(listed(first)) | set(listed(second))
    assert bad.status_code == 200 and "here is the first page" in bad.text and listed(bad) == listed(first)


async def test_a_ticket_of_no_return_is_resolved_with_a_note(
    database: Database, console: tuple[httpx.AsyncClient, str]
) -> None:
    browser, name = console
    ticket = await open_ticket(database)
    page = await browser.get(f"/console/tickets/{ticket.id}")
    assert page.status_code == 200 and ticket.summary in page.text and "expected" in page.text
    assert 'name="action"' not in page.text  # nothing to run: no return waits

    unsaid = await browser.post(f"/console/tickets/{ticket.id}/resolve", data={"csrf_token": form_token(page)})
    assert unsaid.status_code == 422 and "the note is required" in unsaid.text
    forged = await browser.post(f"/console/tickets/{ticket.id}/resolve", data={"resolution": "done"})
    assert forged.status_code == 403

    resolved = await browser.post(
        f"/console/tickets/{ticket.id}/resolve",
        data={"csrf_token": form_token(page), "resolution": "booked the difference by hand"},
    )

    assert resolved.status_code == 303 and resolved.headers["location"] == f"/console/tickets/{ticket.id}?done=true"
    shown = await browser.get(resolved.headers["location"])
    assert "The ticket is resolved." in shown.text and "booked the difference by hand" in shown.text
    async with database.sessions() as session:
        stored = await tickets.get_ticket(session, ticket.id)
        trail, _ = await audit_entries(session, ticket.id, 10, None)
    assert stored and stored.status == "resolved" and stored.resolution == "booked the difference by hand"
    assert [(e.action, e.actor.id) for e in trail] == [("ticket.resolve", name)]


async def test_a_failed_refund_is_resolved_by_the_action_its_return_waits_for(
    api: Callers, database: Database, console: tuple[httpx.AsyncClient, str]
) -> None:
    browser, name = console
    created, _ = await declined_without_fallback(api)
    async with database.sessions() as session:
        [ticket] = await tickets.list_tickets(session, "open", created["id"], 10)
    page = await browser.get(f"/console/tickets/{ticket.id}")
    offered = re.findall(r'name="action" value="([a-z_]+)"', page.text)
    assert offered == ["retry_refund", "refund_as_store_credit", "mark_refunded"]
    assert 'id="reference"' in page.text and f'href="/console/returns/{created["id"]}"' in page.text

    note = "paid back by bank transfer"
    unsaid = await browser.post(
        f"/console/tickets/{ticket.id}/resolve", data={"csrf_token": form_token(page), "resolution": note}
    )
    assert unsaid.status_code == 409
    assert "the return waits for one of its actions" in unsaid.text and note in unsaid.text  # the note kept
    not_offered = await browser.post(
        f"/console/tickets/{ticket.id}/resolve",
        data={"csrf_token": form_token(page), "resolution": note, "action": "close_as_lost"},
    )
    assert not_offered.status_code == 409 and note in not_offered.text

    resolved = await browser.post(
        f"/console/tickets/{ticket.id}/resolve",
        data={"csrf_token": form_token(page), "resolution": note, "action": "mark_refunded", "reference": "BT-7"},
    )

    assert resolved.status_code == 303
    done = await wait_for_status(api, created["id"], "completed")
    assert [(m["kind"], m["provider_ref"]) for m in done["money"]] == [("refund_outside", "BT-7")]
    async with database.sessions() as session:
        stored = await tickets.get_ticket(session, ticket.id)
        trail, _ = await audit_entries(session, created["id"], 50, None)
    assert stored and stored.status == "resolved"
    assert ("return.resolve", "operator", name) in [(e.action, e.actor.role, e.actor.id) for e in trail]


async def test_an_unknown_ticket_is_a_page_that_says_so(console: tuple[httpx.AsyncClient, str]) -> None:
    browser, _ = console
    page = await browser.get("/console/tickets/tkt_nothing")
    assert page.status_code == 404 and "No such ticket" in page.text
