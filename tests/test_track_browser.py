"""The customer's tracking page in a real browser, on a phone-sized screen (390×844): opened from its link (the
storefront's, or the one a message carries), the progress bar, the next step, the customer asks us to hurry,
cancels and answers the survey."""

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from tests.api_client import Callers, customer_token, wait_for_status
from tests.browser import ConsoleStack, assert_accessible, screenshot, wait_for, wait_for_text, wait_for_url
from tests.conftest import housekeeping
from tests.return_journeys import new_return
from tests.test_console_browser_return import api_of  # noqa: F401  (the fixture: the stack's REST API)
from tests.test_customer_notifications import sent_to
from tests.test_track_page import message_link

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


@pytest.mark.browser
async def test_from_a_messages_link_the_customer_urges_cancels_and_answers_the_survey(
    phone: WebDriver,
    console_stack: ConsoleStack,
    api_of: Callers,  # noqa: F811
) -> None:
    created = await new_return(api_of)
    await wait_for_status(api_of, created["id"], "awaiting_shipment")
    async with housekeeping(console_stack.client, console_stack.sandbox_url, console_stack.database) as run:
        [approved, *_] = await sent_to(api_of, console_stack.database, run, created["id"])
    link = message_link(approved)
    assert urlsplit(link).query.startswith("token=rft_")

    phone.get(console_stack.url + link)
    wait_for_url(phone, f"/track/{created['id']}")
    assert "token=" not in phone.current_url
    states = [node.get_attribute("class") for node in phone.find_elements(By.CSS_SELECTOR, ".progress .node")]
    assert states[:3] == ["node node-done", "node node-done", "node node-current"], states
    phone.find_element(By.XPATH, "//button[normalize-space()='Ask us to hurry']").click()
    wait_for_text(phone, "we have asked the team to hurry", ".notice")

    phone.find_element(By.XPATH, "//button[normalize-space()='Cancel the return']").click()
    wait_for_text(phone, "Your return is canceled.", ".notice")
    wait_for_text(phone, "How did it go?")
    phone.find_element(By.CSS_SELECTOR, "input[name='score'][value='2']").click()
    phone.find_element(By.ID, "survey-comment").send_keys("I changed my mind, the form was slow")
    assert phone.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
    assert_accessible(phone, "the tracking page's survey")
    phone.find_element(By.XPATH, "//button[normalize-space()='Send my answer']").click()
    wait_for_text(phone, "Thank you for telling us how it went.", ".notice")
    assert not phone.find_elements(By.ID, "survey"), "answered once"

    tickets = (await api_of.operator.get("/v1/tickets", params={"return_id": created["id"]})).json()["items"]
    assert [ticket["kind"] for ticket in tickets] == ["negative_feedback"]
    audit = (await api_of.service.get(f"/v1/returns/{created['id']}/audit")).json()["items"]
    acts = [(item["action"], item["actor"]["id"]) for item in audit if item["actor"]["role"] == "customer"]
    assert acts == [(act, created["customer_id"]) for act in ("return.urge", "return.cancel", "return.survey")]
