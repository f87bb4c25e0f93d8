"""The dashboard in a real browser: every chart is drawn, with the figures the API gives for the same period."""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from console.routes.dashboard import TOP_SKUS
from store import operators
from store.api_keys import create_api_key
from tests.browser import TIMEOUT, ConsoleStack, assert_accessible, screenshot, wait_for, wait_for_text, wait_for_url
from tests.factories import new_order_id, order_body, return_body

PASSWORD = "correct horse battery"
# Each chart's Chart.js instance as the page built it: its labels and the values of each dataset.
CHARTS = """
return Object.fromEntries([...document.querySelectorAll('canvas[data-chart]')].map((canvas) => {
  const chart = Chart.getChart(canvas);
  return [canvas.id, chart ? {labels: chart.data.labels, data: chart.data.datasets.map((set) => set.data)} : null];
}));
"""


async def seed_returns(stack: ConsoleStack) -> dict[str, str]:
    """Two orders with a return each (a defective tee, a tee that did not fit) and one without; the callers' keys."""
    async with stack.database.transaction() as session:
        _, service_key = await create_api_key(session, "service")
        _, operator_key = await create_api_key(session, "operator")
    headers = {"Authorization": f"Bearer {service_key}"}
    async with httpx.AsyncClient(base_url=stack.url, headers=headers, timeout=30) as service:
        for reason in ("defective", "size_fit", None):
            order_id = new_order_id()
            assert (await service.put(f"/v1/orders/{order_id}", json=order_body())).status_code == 201
            if reason:
                lines = [{"line_id": "L1", "quantity": 1, "reason": reason}]
                created = await service.post("/v1/returns", json=return_body(order_id=order_id, lines=lines))
                assert created.status_code == 201, created.text
    return {"service": service_key, "operator": operator_key}


async def api_metrics(stack: ConsoleStack, operator_key: str, period: dict[str, str]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {operator_key}"}
    async with httpx.AsyncClient(base_url=stack.url, headers=headers, timeout=30) as operator:
        response = await operator.get("/v1/metrics/returns", params=period)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def log_in(page: WebDriver, stack: ConsoleStack) -> None:
    name = "op-" + secrets.token_hex(4)
    async with stack.database.transaction() as session:
        await operators.save_operator(session, name, PASSWORD, datetime.now(UTC))
    page.get(stack.url + "/console/login")
    page.find_element(By.ID, "name").send_keys(name)
    page.find_element(By.ID, "password").send_keys(PASSWORD + "\n")
    wait_for_url(page, "/console/")


def drawn_charts(page: WebDriver) -> dict[str, Any]:
    """Once every canvas has its chart: each chart's labels and data."""
    return dict(
        WebDriverWait(page, TIMEOUT).until(
            lambda driver: (c := driver.execute_script(CHARTS)) and all(c.values()) and c
        )
    )


@contextmanager
def reduced_motion(page: WebDriver) -> Iterator[None]:
    page.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]}
    )
    try:
        yield
    finally:
        page.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


@pytest.mark.browser
async def test_a_manager_reads_the_dashboard_and_its_charts_are_the_api_figures(
    page: WebDriver, console_stack: ConsoleStack
) -> None:
    """With reduced motion asked for, the charts are drawn at once (and the screenshot shows them as they end up,
    not halfway through an animation)."""
    keys = await seed_returns(console_stack)
    await log_in(page, console_stack)

    with reduced_motion(page):
        page.find_element(By.LINK_TEXT, "Dashboard").click()
        wait_for_url(page, "/console/dashboard")
        page.find_element(By.LINK_TEXT, "Last 7 days").click()
        wait_for_url(page, "/console/dashboard?days=7")
        shown = wait_for(page, "#period-shown")
        period = {"from": str(shown.get_attribute("data-from")), "to": str(shown.get_attribute("data-to"))}
        charts = drawn_charts(page)
        assert page.execute_script("return Chart.defaults.animation") is False
        assert_accessible(page, "the dashboard")
        screenshot(page, "console-dashboard")
    metrics = await api_metrics(console_stack, keys["operator"], period)

    assert metrics["reasons"]["defective"] >= 1 and metrics["reasons"]["size_fit"] >= 1
    assert charts["chart-reasons"]["data"] == [list(metrics["reasons"].values())]
    assert len(charts["chart-reasons"]["labels"]) == len(metrics["reasons"])
    assert "Defective" in charts["chart-reasons"]["labels"]  # the reasons in words
    assert charts["chart-categories"] == {
        "labels": list(metrics["by_category"]),
        "data": [[rates["return_rate"] for rates in metrics["by_category"].values()]],
    }
    top = sorted(metrics["by_sku"].items(), key=lambda item: (-item[1]["returns"], item[0]))[:TOP_SKUS]
    assert charts["chart-skus"] == {"labels": [sku for sku, _r in top], "data": [[r["returns"] for _sku, r in top]]}
    assert "TEE-RED-M" in charts["chart-skus"]["labels"]
    daily = metrics["daily"]
    assert charts["chart-daily"] == {
        "labels": [day["date"] for day in daily],
        "data": [[day["returns"] for day in daily], [day["return_rate"] for day in daily]],
    }
    assert sum(charts["chart-daily"]["data"][0]) == metrics["returns"]
    for canvas in page.find_elements(By.CSS_SELECTOR, "canvas[data-chart]"):
        assert canvas.get_attribute("role") == "img" and canvas.get_attribute("aria-label")
        assert canvas.size["height"] > 100  # drawn, not collapsed


@pytest.mark.browser
async def test_a_period_backwards_is_refused_in_words(page: WebDriver, console_stack: ConsoleStack) -> None:
    await log_in(page, console_stack)
    page.get(console_stack.url + "/console/dashboard?from=2026-03-31&to=2026-03-01")

    wait_for_text(page, "from must be before to", "[role=alert]")
    assert page.find_element(By.ID, "period-from").get_attribute("value") == "2026-03-31"  # as typed
    assert not page.find_elements(By.CSS_SELECTOR, "canvas")
    assert_accessible(page, "the dashboard refusing a period")
