"""The queues and the list of all returns in a real browser: the urged return first in review, a return opened
from its queue, all returns filtered by order id (htmx swaps the list and the address bar follows); axe on each
page, and their screenshots.

The returns are written to the read model as their workflows would have (``stored_return``): the pages read the
store only."""

from datetime import timedelta
from typing import Literal
from urllib.parse import parse_qs, urlsplit

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from domain.returns import Status
from tests.browser import TIMEOUT, ConsoleStack, assert_accessible, screenshot, wait_for, wait_for_text, wait_for_url
from tests.test_console_browser_return import sign_in
from tests.test_console_queues import NOW, stored_return


def only_rows(rows: list[WebElement], count: int) -> list[WebElement] | Literal[False]:
    """``rows`` once there are exactly ``count`` of them (rendered), else False: a wait's condition."""
    return rows if len(rows) == count and all(row.text for row in rows) else False


@pytest.mark.browser
async def test_an_operator_works_from_the_review_queue_and_finds_a_return_by_its_order(
    page: WebDriver, console_stack: ConsoleStack
) -> None:
    database = console_stack.database
    # Urged, and in review longer than any other urged return: the first row, whatever else waits.
    urged = await stored_return(database, Status.UNDER_REVIEW, NOW - timedelta(days=30), priority="high")
    waiting = await stored_return(database, Status.UNDER_REVIEW, NOW - timedelta(days=40))
    await stored_return(database, Status.NEEDS_ATTENTION, NOW - timedelta(hours=3), reason="refund_failed")
    await stored_return(database, Status.RECEIVED, NOW - timedelta(hours=20))
    await sign_in(page, console_stack)

    page.find_element(By.CSS_SELECTOR, 'header nav a[href="/console/queues/review"]').click()
    wait_for_text(page, "Waiting for review", "h1")
    first = page.find_element(By.CSS_SELECTOR, "#results tbody tr")
    assert urged.id in first.text and "Urged" in first.text, first.text
    assert waiting.id in page.find_element(By.ID, "results").text
    assert_accessible(page, "the review queue")
    screenshot(page, "console-queue-review")

    first.find_element(By.LINK_TEXT, urged.id).click()
    wait_for_url(page, f"/console/returns/{urged.id}")
    wait_for_text(page, "Under review", "h1")

    for path, heading, name in (
        ("/console/queues/attention", "Needs attention", "console-queue-attention"),
        ("/console/queues/inspection", "Received, waiting for inspection", "console-queue-inspection"),
    ):
        page.get(console_stack.url + path)
        wait_for_text(page, heading, "h1")
        wait_for(page, "#results tbody tr")
        assert_accessible(page, f"the queue {path}")
        screenshot(page, name)

    page.find_element(By.CSS_SELECTOR, 'header nav a[href="/console/returns"]').click()
    wait_for_text(page, "All returns", "h1")
    assert_accessible(page, "all returns")
    order_field = page.find_element(By.ID, "order_id")
    order_field.send_keys(waiting.order_id, Keys.ENTER)
    # The unfiltered list may show the return too: wait for the list to be the filtered one.
    rows = WebDriverWait(page, TIMEOUT, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda driver: only_rows(driver.find_elements(By.CSS_SELECTOR, "#results tbody tr"), 1)
    )
    assert waiting.id in rows[0].text, rows[0].text
    assert parse_qs(urlsplit(page.current_url).query)["order_id"] == [waiting.order_id], "the address bar follows"
    assert page.find_element(By.ID, "order_id") == order_field, "the form stayed: only the list was swapped"
    assert_accessible(page, "all returns filtered by order id")
    screenshot(page, "console-returns")
