"""The return page and the inspection station over real HTTP: what they show, the acts that fit, and
each act going through the same Update as the REST API (audited with the operator's name)."""

import html
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from store.db import Database
from tests.api_client import Callers, carrier, default_policy, wait_for_status
from tests.return_journeys import new_return, received, refund_failed
from tests.test_console_sessions import browser_for, form_token, log_in, new_operator


@pytest.fixture
async def console(api: Callers, database: Database) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A browser signed in as a new operator, and the operator's name."""
    name = await new_operator(database)
    await default_policy(api)
    async with browser_for(api) as browser:
        assert (await log_in(browser, name)).status_code == 303
        yield browser, name


def forms(page: httpx.Response) -> list[str]:
    """The actions of the page's act forms (the return page posts to /console/returns/{id}/<act>)."""
    return re.findall(r'<form method="post" action="/console/(?:returns|station)/[^/"]+/([a-z]+)"', page.text)


def text(page: httpx.Response) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page.text))


async def audit_acts(api: Callers, return_id: str) -> list[tuple[str, str, str]]:
    items = (await api.operator.get(f"/v1/returns/{return_id}/audit")).json()["items"]
    return [(item["action"], item["actor"]["role"], item["actor"]["id"]) for item in items]


async def test_the_return_page_shows_the_return_and_only_the_acts_that_fit(
    api: Callers, console: tuple[httpx.AsyncClient, str]
) -> None:
    browser, _ = console
    ret = await new_return(api)
    shipped = await wait_for_status(api, ret["id"], "awaiting_shipment")

    page = await browser.get(f"/console/returns/{ret['id']}")
    assert page.status_code == 200, page.text
    words = text(page)
    assert "Awaiting shipment" in words and "Defective" in words and "Merchant" in words
    assert all(rule in words for rule in shipped["decision"]["rules"]), "the decision's rules in words"
    assert "19.99 USD" in words and shipped["logistics"]["tracking_number"] in words
    assert shipped["logistics"]["label_url"] in page.text
    assert f"http://127.0.0.1:8233/namespaces/default/workflows/{ret['id']}" in page.text
    assert re.search(r'class="node node-done"[^>]*>\s*<span class="node-label">Approved', page.text)
    assert re.search(r'class="node node-current" aria-current="step">\s*<span class="node-label">Picked up', page.text)
    assert "Created" in words, "the audit trail"
    assert forms(page) == ["cancel"], "before the parcel moves a return can only be canceled"

    assert (await browser.get("/console/returns/ret_nothing_here")).status_code == 404


async def test_approving_from_the_page_moves_the_return_on_and_the_audit_names_the_operator(
    api: Callers, console: tuple[httpx.AsyncClient, str]
) -> None:
    browser, name = console
    ret = await new_return(api, expensive=True)
    assert ret["status"] == "under_review"
    page = await browser.get(f"/console/returns/{ret['id']}")
    assert forms(page) == ["review", "cancel"]

    approved = await browser.post(
        f"/console/returns/{ret['id']}/review",
        data={"csrf_token": form_token(page), "decision": "approve", "note": "receipt checked"},
    )
    assert approved.status_code == 303 and approved.headers["location"].endswith("?done=approved")
    after = await browser.get(approved.headers["location"])
    assert "The return is approved." in after.text and "review" not in forms(after)
    await wait_for_status(api, ret["id"], "awaiting_shipment")
    assert ("return.review", "operator", name) in await audit_acts(api, ret["id"])


async def test_a_refused_act_shows_the_problem_in_words_and_keeps_what_was_typed(
    api: Callers, console: tuple[httpx.AsyncClient, str]
) -> None:
    browser, _ = console
    ret = await new_return(api)
    await wait_for_status(api, ret["id"], "awaiting_shipment")
    page = await browser.get(f"/console/returns/{ret['id']}")

    # The page was open while the return moved on: a review no longer fits.
    late = await browser.post(
        f"/console/returns/{ret['id']}/review",
        data={"csrf_token": form_token(page), "decision": "approve", "note": "looked fine to me"},
    )
    assert late.status_code == 409
    assert "is not waiting for review" in text(late) and 'role="alert"' in late.text
    assert ">looked fine to me</textarea>" in late.text, "the note typed is still there"

    unknown_action = await browser.post(
        f"/console/returns/{ret['id']}/resolve",
        data={"csrf_token": form_token(page), "action": "retry_refund", "note": "try again"},
    )
    assert unknown_action.status_code == 409 and "the return needs no action now" in text(unknown_action)
    assert ">try again</textarea>" in unknown_action.text


async def test_a_form_without_the_session_token_is_refused_and_changes_nothing(
    api: Callers, console: tuple[httpx.AsyncClient, str]
) -> None:
    browser, _ = console
    ret = await new_return(api, expensive=True)
    refused = await browser.post(f"/console/returns/{ret['id']}/review", data={"decision": "approve"})
    assert refused.status_code == 403
    forged = await browser.post(f"/console/returns/{ret['id']}/cancel", data={"csrf_token": "guessed"})
    assert forged.status_code == 403
    assert (await api.service.get(f"/v1/returns/{ret['id']}")).json()["status"] == "under_review"


async def test_the_station_finds_a_parcel_by_its_tracking_number_and_inspects_it(
    api: Callers, console: tuple[httpx.AsyncClient, str]
) -> None:
    browser, name = console
    parcel = await received(api)
    tracking = parcel["logistics"]["tracking_number"]

    found = await browser.get("/console/station", params={"scan": f" {tracking} "})
    assert found.status_code == 200 and forms(found) == ["inspection"]
    assert re.search(r'name="condition-L1" value="as_new" required autofocus', found.text), "first choice focused"

    none_graded = await browser.post(
        f"/console/station/{parcel['id']}/inspection", data={"csrf_token": form_token(found), "note-L1": "scuffed"}
    )
    assert none_graded.status_code == 422
    assert "Choose a condition and a disposition for this line." in none_graded.text
    assert 'value="scuffed"' in none_graded.text, "the note typed is still there"

    graded = await browser.post(
        f"/console/station/{parcel['id']}/inspection",
        data={
            "csrf_token": form_token(found),
            "condition-L1": "opened",
            "disposition-L1": "restock",
            "note-L1": "box opened, item fine",
        },
    )
    assert graded.status_code == 303
    ready = await browser.get(graded.headers["location"])
    assert "the inspection is recorded. Scan the next parcel." in ready.text
    assert re.search(r'<input id="scan" name="scan" value=""[^>]*autofocus>', ready.text), "ready for the next parcel"
    done = await wait_for_status(api, parcel["id"], "completed")
    assert done["lines"][0]["condition"] == "opened" and done["lines"][0]["disposition"] == "restock"
    assert ("return.inspect", "operator", name) in await audit_acts(api, parcel["id"])

    again = await browser.get("/console/station", params={"scan": tracking})
    assert "it is already inspected." in again.text and forms(again) == []
    by_id = await browser.get("/console/station", params={"scan": parcel["id"]})
    assert "it is already inspected." in by_id.text
    unknown = await browser.get("/console/station", params={"scan": "NO-SUCH-PARCEL"})
    assert "No return has this tracking number or id:" in unknown.text
    spoofed = await browser.get("/console/station", params={"inspected": (await new_return(api))["id"]})
    assert "the inspection is recorded" not in spoofed.text


async def test_the_station_says_why_a_parcel_on_its_way_cannot_be_graded(
    api: Callers, console: tuple[httpx.AsyncClient, str]
) -> None:
    browser, _ = console
    ret = await new_return(api)
    shipped = await wait_for_status(api, ret["id"], "awaiting_shipment")
    await carrier(api, shipped["logistics"]["tracking_number"], "picked_up")
    await wait_for_status(api, ret["id"], "in_transit")
    page = await browser.get("/console/station", params={"scan": shipped["logistics"]["tracking_number"]})
    assert "the parcel is still in transit" in page.text and forms(page) == []


async def test_a_failed_refund_is_resolved_from_the_page(
    api: Callers, console: tuple[httpx.AsyncClient, str], sandbox: httpx.AsyncClient
) -> None:
    browser, name = console
    parcel = await refund_failed(api, sandbox)

    page = await browser.get(f"/console/returns/{parcel['id']}")
    assert forms(page) == ["resolve"] and "Refund failed" in text(page)
    assert re.findall(r'name="action" value="([a-z_]+)"', page.text) == parcel["attention"]["actions"]

    no_reference = await browser.post(
        f"/console/returns/{parcel['id']}/resolve",
        data={"csrf_token": form_token(page), "action": "mark_refunded", "note": "paid by bank transfer"},
    )
    assert no_reference.status_code == 422 and "needs the reference" in text(no_reference)
    assert ">paid by bank transfer</textarea>" in no_reference.text

    retried = await browser.post(
        f"/console/returns/{parcel['id']}/resolve",
        data={"csrf_token": form_token(page), "action": "retry_refund", "note": "card works again"},
    )
    assert retried.status_code == 303 and retried.headers["location"].endswith("?done=resolved")
    done = await wait_for_status(api, parcel["id"], "completed")
    assert done["refund"]["status"] == "succeeded"
    assert ("return.resolve", "operator", name) in await audit_acts(api, parcel["id"])


async def test_the_return_page_and_the_station_read_in_chinese(api: Callers, database: Database) -> None:
    name = await new_operator(database, language="zh-Hans")
    parcel = await received(api)
    async with browser_for(api) as browser:
        await log_in(browser, name)
        page = await browser.get(f"/console/returns/{parcel['id']}")
        station = await browser.get("/console/station", params={"scan": parcel["logistics"]["tracking_number"]})
    assert page.status_code == station.status_code == 200
    assert "已收货" in text(page) and "进度" in text(page) and "提交质检结果" in text(page)
    assert "扫描运单号或退货编号" in text(station) and "全新" in text(station)
