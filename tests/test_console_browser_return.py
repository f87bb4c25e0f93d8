"""The return page and the inspection station in a real browser: approve, inspect with the keyboard alone,
resolve a failed refund, and a return taken from review through inspection to its refund without curl.

The shop (orders, the return request) and the carrier (scans) act through the REST API; the operator only
through the browser."""

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from store import operators
from store.api_keys import create_api_key
from tests.api_client import Callers, default_policy, wait_for_status
from tests.browser import ConsoleStack, assert_accessible, screenshot, wait_for, wait_for_text, wait_for_url
from tests.return_journeys import deliver, new_return, received, refund_failed

PASSWORD = "correct horse battery"


@pytest.fixture
async def api_of(console_stack: ConsoleStack) -> AsyncIterator[Callers]:
    """The REST API of the browser's stack, as the shop, an operator's key and the carrier's sandbox use it."""
    async with console_stack.database.transaction() as session:
        _, service_key = await create_api_key(session, "service")
        _, operator_key = await create_api_key(session, "operator")

    def client(key: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(base_url=console_stack.url, headers=headers, timeout=30)

    async with (
        client(service_key) as service,
        client(operator_key) as operator,
        client() as anonymous,
        httpx.AsyncClient(base_url=console_stack.sandbox_url) as sandbox,
    ):
        callers = Callers(service, operator, anonymous, sandbox, console_stack.client)
        await default_policy(callers)
        yield callers
        await sandbox.delete("/sandbox/faults")


async def sign_in(page: WebDriver, stack: ConsoleStack) -> str:
    """A new operator logs in through the login form; its name."""
    name = "op-" + secrets.token_hex(4)
    async with stack.database.transaction() as session:
        await operators.save_operator(session, name, PASSWORD, datetime.now(UTC))
    page.get(stack.url + "/console/login")
    page.find_element(By.ID, "name").send_keys(name)
    page.find_element(By.ID, "password").send_keys(PASSWORD, Keys.ENTER)
    wait_for_url(page, "/console/")
    return name


def keys(page: WebDriver, *typed: str) -> None:
    """Type into whatever has the focus, as a person (or a barcode scanner) at the keyboard does."""
    ActionChains(page).send_keys(*typed).perform()


def focused(page: WebDriver) -> tuple[str | None, str | None]:
    element = page.switch_to.active_element
    return element.get_attribute("name"), element.get_attribute("value")


def approve_on_its_page(page: WebDriver, stack: ConsoleStack, return_id: str) -> None:
    page.get(f"{stack.url}/console/returns/{return_id}")
    wait_for_text(page, "Under review", "h1")
    page.find_element(By.ID, "review-note").send_keys("receipt checked")
    page.find_element(By.CSS_SELECTOR, 'button[name="decision"][value="approve"]').click()
    wait_for_text(page, "The return is approved.", ".notice")


def inspect_at_the_station_by_keyboard(page: WebDriver, stack: ConsoleStack, tracking_number: str) -> None:
    """Scan, grade the one line and submit, without touching the mouse."""
    page.get(stack.url + "/console/station")
    wait_for(page, "#scan")
    assert focused(page)[0] == "scan", "the scan field has the focus"
    keys(page, tracking_number, Keys.ENTER)  # the barcode scanner
    wait_for(page, "fieldset.grade")
    assert focused(page) == ("condition-L1", "as_new"), "the first choice has the focus"
    keys(page, Keys.ARROW_RIGHT)  # condition: opened
    keys(page, Keys.TAB, Keys.SPACE)  # disposition: restock
    keys(page, Keys.TAB, "box opened, item fine", Keys.ENTER)  # the note, and send
    wait_for_text(page, "Scan the next parcel.", ".notice")
    assert focused(page)[0] == "scan", "ready for the next parcel"


@pytest.mark.browser
async def test_an_operator_approves_a_return_from_its_page(
    page: WebDriver, console_stack: ConsoleStack, api_of: Callers
) -> None:
    ret = await new_return(api_of, expensive=True)
    await sign_in(page, console_stack)
    page.get(f"{console_stack.url}/console/returns/{ret['id']}")
    wait_for_text(page, "Under review", "h1")
    assert_accessible(page, "the return page of a return under review")

    approve_on_its_page(page, console_stack, ret["id"])
    assert_accessible(page, "the return page after the approval")
    assert not page.find_elements(By.CSS_SELECTOR, 'button[name="decision"]'), "a review no longer fits"
    await wait_for_status(api_of, ret["id"], "awaiting_shipment")


@pytest.mark.browser
async def test_a_received_parcel_is_inspected_at_the_station_with_the_keyboard_only(
    page: WebDriver, console_stack: ConsoleStack, api_of: Callers
) -> None:
    parcel = await received(api_of)
    await sign_in(page, console_stack)
    page.get(console_stack.url + "/console/station")
    wait_for(page, "#scan")
    assert_accessible(page, "the inspection station, waiting for a scan")
    keys(page, parcel["logistics"]["tracking_number"], Keys.ENTER)
    wait_for(page, "fieldset.grade")
    assert_accessible(page, "the inspection station's grading form")
    screenshot(page, "console-station")

    inspect_at_the_station_by_keyboard(page, console_stack, parcel["logistics"]["tracking_number"])
    assert_accessible(page, "the inspection station after an inspection")
    done = await wait_for_status(api_of, parcel["id"], "completed")
    assert [(line["condition"], line["disposition"]) for line in done["lines"]] == [("opened", "restock")]


@pytest.mark.browser
async def test_a_failed_refund_is_resolved_from_the_return_page(
    page: WebDriver, console_stack: ConsoleStack, api_of: Callers
) -> None:
    stuck = await refund_failed(api_of, api_of.sandbox)
    await sign_in(page, console_stack)
    page.get(f"{console_stack.url}/console/returns/{stuck['id']}")
    wait_for_text(page, "Refund failed", "#attention-heading")
    assert_accessible(page, "the return page of a return whose refund failed")

    page.find_element(By.ID, "resolve-note").send_keys("card works again")
    page.find_element(By.CSS_SELECTOR, 'button[name="action"][value="retry_refund"]').click()
    wait_for_text(page, "The action is carried out.", ".notice")
    done = await wait_for_status(api_of, stuck["id"], "completed")
    assert done["refund"]["status"] == "succeeded"


@pytest.mark.browser
async def test_a_return_goes_from_review_through_inspection_to_its_refund_without_curl(
    page: WebDriver, console_stack: ConsoleStack, api_of: Callers
) -> None:
    ret = await new_return(api_of, expensive=True)
    await sign_in(page, console_stack)

    approve_on_its_page(page, console_stack, ret["id"])
    parcel = await deliver(api_of, ret["id"])  # the carrier's scans
    inspect_at_the_station_by_keyboard(page, console_stack, parcel["logistics"]["tracking_number"])
    done = await wait_for_status(api_of, ret["id"], "completed")

    page.get(f"{console_stack.url}/console/returns/{ret['id']}")
    wait_for_text(page, "Completed", "h1")
    refund = f"{done['refund']['amount']} {done['refund']['currency']}"
    assert refund in wait_for(page, ".amount").text
    ledger = page.find_element(By.XPATH, "//table[caption='Ledger']").text
    assert "Refund" in ledger and refund in ledger, ledger
    assert all(node.get_attribute("class") == "node node-done" for node in page.find_elements(By.CSS_SELECTOR, ".node"))
    assert_accessible(page, "the return page of a completed return")
    screenshot(page, "console-return")
