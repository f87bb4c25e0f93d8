"""The customer's tracking page in a real browser, on a phone-sized screen (390×844): opened from its link,
the progress bar, the next step, and the customer asks us to hurry."""

from collections.abc import Iterator

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from tests.api_client import Callers, customer_token, wait_for_status
from tests.browser import ConsoleStack, assert_accessible, screenshot, wait_for, wait_for_text, wait_for_url
from tests.return_journeys import new_return
from tests.test_console_browser_return import api_of  # noqa: F401  (the fixture: the stack's REST API)

PHONE = (390, 844)


@pytest.fixture
def phone(page: WebDriver) -> Iterator[WebDriver]:
    """The browser in a phone's window, restored afterwards for the other browser tests."""
    width, height = page.get_window_size()["width"], page.get_window_size()["height"]
    page.set_window_size(*PHONE)
    try:
        yield page
    finally:
        page.set_window_size(width, height)


@pytest.mark.browser
async def test_the_tracking_page_on_a_phone(phone: WebDriver, console_stack: ConsoleStack, api_of: Callers) -> None:  # noqa: F811
    created = await new_return(api_of)
    await wait_for_status(api_of, created["id"], "awaiting_shipment")
    token = await customer_token(api_of, created["customer_id"])

    phone.get(f"{console_stack.url}/track/{created['id']}?token={token}")
    wait_for_url(phone, f"/track/{created['id']}")
    assert "token=" not in phone.current_url
    wait_for_text(phone, "What happens next")
    nodes = [node.text.splitlines()[0] for node in phone.find_elements(By.CSS_SELECTOR, ".progress .node")]
    assert nodes == ["Requested", "Approved", "Picked up", "Received", "Inspected", "Refunded"]
    assert wait_for(phone, ".node-current").text.startswith("Picked up")
    assert "Pack the items" in phone.find_element(By.CSS_SELECTOR, ".next").text
    # Nothing is wider than the phone's screen.
    assert phone.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
    assert_accessible(phone, "the tracking page")
    screenshot(phone, "track")

    phone.find_element(By.XPATH, "//button[normalize-space()='Ask us to hurry']").click()
    wait_for_text(phone, "we have asked the team to hurry", ".notice")
    assert_accessible(phone, "the tracking page after urging")
