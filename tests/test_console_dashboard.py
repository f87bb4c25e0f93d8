"""The dashboard over real HTTP: its figures are the API's for the same period; a bad period is said in words."""

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import httpx

from console.formatting import hours, percent
from console.routes.dashboard import TOP_SKUS, most_returned
from domain.metrics import Rates
from store.db import Database
from tests.api_client import Callers, carrier, default_policy, put_order, wait_for_status
from tests.factories import return_body
from tests.test_console_sessions import browser_for, log_in, new_operator

NO_RATES: dict[str, Any] = {
    "return_rate": None,
    "auto_approval_rate": None,
    "dispute_rate": None,
    "refund_hours_p50": None,
    "refund_hours_p90": None,
    "reasons": {},
}


class DashboardPage(HTMLParser):
    """What the page shows as text: the headline figures (by ``data-figure``) and each table's rows (by id)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.figures: dict[str, str] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self._figure: str | None = None
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._in_body = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "dd" and (figure := named.get("data-figure")):
            self._figure = figure
            self.figures[figure] = ""
        elif tag == "table" and (table := named.get("id")):
            self._table = table
            self.tables[table] = []
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._table and self._in_body:
            self.tables[self._table].append([])
        elif tag in ("th", "td") and self._table and self._in_body:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "dd":
            self._figure = None
        elif tag == "table":
            self._table, self._in_body = None, False
        elif tag in ("th", "td") and self._cell is not None and self._table:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._figure:
            self.figures[self._figure] += data.strip()
        if self._cell is not None:
            self._cell.append(data)


def period_shown(page: httpx.Response) -> dict[str, str]:
    match = re.search(r'id="period-shown" data-from="([^"]+)" data-to="([^"]+)"', page.text)
    assert match, page.text
    return {"from": match.group(1), "to": match.group(2)}


def rates_row(name: str, rates: dict[str, Any]) -> list[str]:
    return [
        name,
        str(rates["returns"]),
        percent(rates["return_rate"]),
        percent(rates["auto_approval_rate"]),
        percent(rates["dispute_rate"]),
        hours(rates["refund_hours_p50"]),
        hours(rates["refund_hours_p90"]),
    ]


def day_row(day: dict[str, Any]) -> list[str]:
    return [
        day["date"],
        str(day["returns"]),
        str(day["orders"]),
        percent(day["return_rate"]),
        percent(day["auto_approval_rate"]),
        str(day["refunds_completed"]),
        hours(day["refund_hours_p50"]),
    ]


def most_returned_first(by_sku: dict[str, Any]) -> list[tuple[str, Any]]:
    return sorted(by_sku.items(), key=lambda item: (-item[1]["returns"], item[0]))[:TOP_SKUS]


async def completed_return(api: Callers) -> str:
    """A defective tee returned, received, inspected and refunded."""
    order_id = await put_order(api)
    created = await api.service.post("/v1/returns", json=return_body(order_id=order_id))
    assert created.status_code == 201, created.text
    shipped = await wait_for_status(api, created.json()["id"], "awaiting_shipment")
    for event in ("picked_up", "delivered"):
        await carrier(api, shipped["logistics"]["tracking_number"], event)
    await wait_for_status(api, shipped["id"], "received")
    inspection = {"lines": [{"line_id": "L1", "condition": "damaged", "disposition": "refurbish"}]}
    assert (await api.operator.post(f"/v1/returns/{shipped['id']}/inspection", json=inspection)).status_code == 200
    await wait_for_status(api, shipped["id"], "completed")
    return str(shipped["id"])


async def test_the_dashboard_shows_the_figures_of_the_api_for_the_same_period(api: Callers, database: Database) -> None:
    await default_policy(api)
    await completed_return(api)
    order_id = await put_order(api)
    too_small = return_body(order_id=order_id, lines=[{"line_id": "L1", "quantity": 1, "reason": "size_fit"}])
    assert (await api.service.post("/v1/returns", json=too_small)).status_code == 201
    await put_order(api)  # an order with no return

    async with browser_for(api) as browser:
        await log_in(browser, await new_operator(database))
        page = await browser.get("/console/dashboard", params={"days": "7"})
    assert page.status_code == 200, page.text
    period = period_shown(page)
    metrics = (await api.operator.get("/v1/metrics/returns", params=period)).json()
    shown = DashboardPage(page.text)

    assert metrics["reasons"]["defective"] >= 1 and metrics["reasons"]["size_fit"] >= 1
    # Earlier tests' returns share the database: the figures are compared with the API's, not with ours.
    assert metrics["refund_hours_p50"] is not None and metrics["return_rate"] > 0
    assert shown.figures == {
        "return_rate": percent(metrics["return_rate"]),
        "auto_approval_rate": percent(metrics["auto_approval_rate"]),
        "dispute_rate": percent(metrics["dispute_rate"]),
        "refund_hours_p50": hours(metrics["refund_hours_p50"]),
        "refund_hours_p90": hours(metrics["refund_hours_p90"]),
        "returns": str(metrics["returns"]),
        "orders": str(metrics["orders"]),
    }
    assert [count for _reason, count in shown.tables["table-reasons"]] == [
        str(count) for count in metrics["reasons"].values()
    ]
    assert shown.tables["table-reasons"][0][0] in {"Defective", "Size or fit"}  # in words, not codes
    assert shown.tables["table-categories"] == [rates_row(name, r) for name, r in metrics["by_category"].items()]
    assert metrics["by_sku"]["TEE-RED-M"]["returns"] >= 2
    assert shown.tables["table-skus"] == [rates_row(sku, r) for sku, r in most_returned_first(metrics["by_sku"])]
    assert shown.tables["table-daily"] == [day_row(day) for day in metrics["daily"]]
    assert len(metrics["daily"]) == 8  # seven days up to now touch eight calendar days
    assert shown.tables["table-survey"] == [[score, str(n)] for score, n in metrics["survey"]["scores"].items()]
    assert "chart-reasons-data" in page.text and 'role="img"' in page.text


async def test_dates_pick_whole_utc_days_both_included(api: Callers, database: Database) -> None:
    async with browser_for(api) as browser:
        await log_in(browser, await new_operator(database))
        page = await browser.get("/console/dashboard", params={"from": "2026-03-01", "to": "2026-03-31"})
        only_from = await browser.get("/console/dashboard", params={"from": "2026-03-01"})
    assert page.status_code == 200, page.text
    assert period_shown(page) == {"from": "2026-03-01T00:00:00+00:00", "to": "2026-04-01T00:00:00+00:00"}
    assert 'value="2026-03-01"' in page.text and 'value="2026-03-31"' in page.text  # the form shows the choice
    ends = datetime.fromisoformat(period_shown(only_from)["to"])
    assert abs(ends - datetime.now(UTC)) < timedelta(minutes=1)  # up to now, as the API's default


async def test_a_bad_period_is_said_in_words_and_the_form_keeps_it(api: Callers, database: Database) -> None:
    async with browser_for(api) as browser:
        await log_in(browser, await new_operator(database))
        not_a_date = await browser.get("/console/dashboard", params={"from": "2026-02-30", "to": "2026-03-31"})
        backwards = await browser.get("/console/dashboard", params={"from": "2026-03-31", "to": "2026-03-01"})
        odd_span = await browser.get("/console/dashboard", params={"days": "5"})
        too_long = await browser.get("/console/dashboard", params={"from": "2024-01-01", "to": "2025-12-31"})
    for page in (not_a_date, backwards, odd_span, too_long):
        assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
        assert 'role="alert"' in page.text and "period-shown" not in page.text
    assert "from is not a date (YYYY-MM-DD): 2026-02-30" in not_a_date.text
    assert 'value="2026-02-30"' in not_a_date.text
    assert "from must be before to" in backwards.text  # the API's own rule and words
    assert "days must be one of 7, 30, 90" in odd_span.text
    assert "the period may span at most 366 days" in too_long.text


def test_the_page_shows_the_skus_with_the_most_returns_most_first() -> None:
    by_sku = {f"SKU-{n:02d}": Rates(returns=n % 7, **NO_RATES) for n in range(40)}

    shown = most_returned(by_sku)

    assert len(shown) == TOP_SKUS
    assert [sku for sku, _rates in shown[:3]] == ["SKU-06", "SKU-13", "SKU-20"]  # 6 returns each, then by SKU
    assert [rates.returns for _sku, rates in shown] == sorted((r.returns for r in by_sku.values()), reverse=True)[:15]


async def test_the_dashboard_needs_a_signed_in_operator(api: Callers) -> None:
    for caller in (api.operator, api.anonymous):
        response = await caller.get("/console/dashboard", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/console/login")
