"""The policy and tickets pages in a real browser: edit, simulate and publish a policy; resolve tickets."""

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from store import operators, tickets
from store.api_keys import create_api_key
from tests.api_client import Callers, default_policy, put_order, wait_for_status
from tests.browser import (
    TIMEOUT,
    ConsoleStack,
    assert_accessible,
    screenshot,
    wait_for,
    wait_for_text,
    wait_for_url,
)
from tests.factories import return_body
from tests.test_money_paths import declined_without_fallback

PASSWORD = "correct horse battery"


@pytest.fixture
async def api_of(console_stack: ConsoleStack) -> AsyncIterator[Callers]:
    """The browser's stack as the API's callers reach it (a service key and an operator key of their own)."""
    async with console_stack.database.transaction() as session:
        _, service_key = await create_api_key(session, "service")
        _, operator_key = await create_api_key(session, "operator")

    def client(key: str | None = None, url: str = console_stack.url) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(base_url=url, headers=headers, timeout=30)

    async with (
        client(service_key) as service,
        client(operator_key) as operator,
        client() as anonymous,
        client(url=console_stack.sandbox_url) as sandbox,
    ):
        callers = Callers(service, operator, anonymous, sandbox, console_stack.client)
        await default_policy(callers)
        yield callers
        await default_policy(callers)


async def log_in(page: WebDriver, stack: ConsoleStack, path: str) -> str:
    """A new operator, logged in through the login form; the browser ends at ``path``."""
    name = "op-" + secrets.token_hex(4)
    async with stack.database.transaction() as session:
        await operators.save_operator(session, name, PASSWORD, datetime.now(UTC))
    page.get(stack.url + path)
    wait_for_url(page, "/console/login")
    page.find_element(By.ID, "name").send_keys(name)
    page.find_element(By.ID, "password").send_keys(PASSWORD, Keys.ENTER)
    wait_for_url(page, path.split("?")[0])
    return name


def follow(page: WebDriver, element: WebElement) -> None:
    """Click ``element`` and wait for the page it leads to (the old page's elements gone)."""
    element.click()

    def gone(_: WebDriver) -> bool:
        try:
            element.is_enabled()
        except WebDriverException:  # stale; or Chromium's "node … does not belong to the document"
            return True
        return False

    WebDriverWait(page, TIMEOUT).until(gone)


def submit(page: WebDriver, css: str) -> None:
    follow(page, page.find_element(By.CSS_SELECTOR, css))


def retype(page: WebDriver, element_id: str, text: str) -> None:
    field = page.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(text)


@pytest.mark.browser
async def test_an_operator_edits_simulates_and_publishes_a_policy(
    page: WebDriver, console_stack: ConsoleStack, api_of: Callers
) -> None:
    order_id = await put_order(api_of)
    recorded = (await api_of.service.post("/v1/returns", json=return_body(order_id=order_id))).json()
    version = (await api_of.service.get("/v1/policy")).json()["version"]
    name = await log_in(page, console_stack, "/console/policy")
    wait_for_text(page, f"Version {version} is in force.")
    assert_accessible(page, "the policy page")

    retype(page, "setting-window_days", "5")  # shorter than the no-reason window: refused at that field
    submit(page, "button[value=check]")
    wait_for_text(page, "cannot be longer than window_days", "#error-no_reason_window_days")
    assert page.find_element(By.ID, "setting-window_days").get_attribute("value") == "5"
    assert_accessible(page, "the policy page with errors")

    retype(page, "setting-window_days", "30")
    retype(page, "setting-auto_approve_max_amount", "5.00")
    Select(page.find_element(By.ID, "days")).select_by_value("7")
    submit(page, "button[value=simulate]")
    wait_for_text(page, "What would have changed over the last 7 days", "h2")
    wait_for(page, f'a[href="/console/returns/{recorded["id"]}"]')
    assert "Waits for a reviewer" in page.find_element(By.CSS_SELECTOR, "section[aria-labelledby=simulation]").text
    assert_accessible(page, "the policy page with a simulation")
    screenshot(page, "console-policy")

    submit(page, "button[value=publish]")
    wait_for_text(page, f"Version {version + 1} is published", "[role=status]")
    wait_for_text(page, f"by {name}.")
    published = (await api_of.service.get("/v1/policy")).json()
    assert published["version"] == version + 1 and published["policy"]["auto_approve_max_amount"] == "5.00"

    submit(page, 'a[href="/console/policy?editor=yaml"]')
    wait_for(page, "textarea#document")
    assert_accessible(page, "the policy's YAML editor")
    editor = page.find_element(By.ID, "document")
    editor.send_keys(Keys.CONTROL, "a")
    editor.send_keys("window_days: 30\nrisk: [low\n")
    submit(page, "button[value=check]")
    wait_for_text(page, "Line 3, column 1", "#document-errors")
    assert_accessible(page, "the policy's YAML editor with a syntax error")
    screenshot(page, "console-policy-yaml")
    assert (await api_of.service.get("/v1/policy")).json()["version"] == version + 1


@pytest.mark.browser
async def test_an_operator_resolves_tickets(page: WebDriver, console_stack: ConsoleStack, api_of: Callers) -> None:
    created, _ = await declined_without_fallback(api_of)
    async with console_stack.database.transaction() as session:
        mismatch = await tickets.open_ticket(
            session, kind="reconciliation", summary="Payout 0.00 where 19.99 was expected", details={"day": "today"}
        )
    await log_in(page, console_stack, "/console/tickets")
    assert_accessible(page, "the tickets page")
    screenshot(page, "console-tickets")

    Select(page.find_element(By.ID, "kind")).select_by_value("refund_failed")
    submit(page, "form.filters button")
    wait_for_url(page, "/console/tickets?state=open&kind=refund_failed")
    page.find_element(By.CSS_SELECTOR, f'td a[href="/console/returns/{created["id"]}"]')
    row = f'//tr[td/a[@href="/console/returns/{created["id"]}"]]//th/a'
    follow(page, page.find_element(By.XPATH, row))
    wait_for_text(page, "Action on the return", "legend")
    assert_accessible(page, "a ticket of a failed refund")
    screenshot(page, "console-ticket")
    page.find_element(By.CSS_SELECTOR, "input[name=action][value=mark_refunded]").click()
    page.find_element(By.ID, "reference").send_keys("BT-42")
    page.find_element(By.ID, "resolution").send_keys("paid back by bank transfer")
    submit(page, "form.resolve button[type=submit]")
    wait_for(page, "[role=status]")
    done = await wait_for_status(api_of, created["id"], "completed")
    assert [(m["kind"], m["provider_ref"]) for m in done["money"]] == [("refund_outside", "BT-42")]

    page.get(f"{console_stack.url}/console/tickets/{mismatch.id}")
    page.find_element(By.ID, "resolution").send_keys("booked the payout by hand")
    submit(page, "form.resolve button[type=submit]")
    wait_for_text(page, "The ticket is resolved.", "[role=status]")
    assert_accessible(page, "a resolved ticket")
