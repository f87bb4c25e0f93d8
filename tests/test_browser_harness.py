"""The browser harness itself (tests/browser.py): Chromium reads what the running stack serves, axe-core finds what
it should, screenshots take the whole page, a failed wait says what the browser showed."""

import json
import secrets
import struct
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from store import operators
from tests.browser import (
    ConsoleStack,
    assert_accessible,
    require_chromium,
    reset,
    screenshot,
    wait_for,
    wait_for_text,
    wait_for_url,
)

PASSWORD = "correct horse battery"


def html_page(body: str, title: str = "A test page") -> str:
    document = f'<!doctype html><html lang="en"><head><title>{title}</title></head><body>{body}</body></html>'
    return "data:text/html;charset=utf-8," + quote(document)


def png_size(path: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", path.read_bytes()[16:24])  # the IHDR chunk, right after the signature
    return width, height


@pytest.mark.browser
def test_the_browser_reads_what_the_running_app_serves(page: WebDriver, console_stack: ConsoleStack) -> None:
    page.get(console_stack.url + "/health/live")

    assert json.loads(wait_for(page, "body").text) == {"status": "live"}


@pytest.mark.browser
async def test_an_operator_saved_by_the_test_logs_in_through_the_browser(
    page: WebDriver, console_stack: ConsoleStack
) -> None:
    """The test's own event loop writes, the browser blocks, the app in its thread answers; nothing stays after."""
    name = "op-" + secrets.token_hex(4)
    async with console_stack.database.transaction() as session:
        await operators.save_operator(session, name, PASSWORD, datetime.now(UTC))

    page.get(console_stack.url + "/console/")
    wait_for_url(page, "/console/login")
    assert page.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"  # whatever the machine's locale
    assert_accessible(page, "the login page")  # axe is injected despite the console's Content-Security-Policy
    screenshot(page, "console-login")
    page.find_element(By.ID, "name").send_keys(name)
    page.find_element(By.ID, "password").send_keys(PASSWORD)
    page.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for_url(page, "/console/")
    wait_for_text(page, name)

    reset(page)  # what the `page` fixture does before each test
    page.get(console_stack.url + "/console/")
    wait_for_url(page, "/console/login")


@pytest.mark.browser
def test_axe_passes_a_valid_page_and_names_every_serious_violation_of_another(page: WebDriver) -> None:
    page.get(html_page('<main><h1>Returns</h1><p>Nothing waits.</p><button type="button">Refresh</button></main>'))
    assert_accessible(page, "a valid page")

    page.get(html_page('<main><h1>Returns</h1><img src="x.png"><button type="button"></button></main>'))
    with pytest.raises(AssertionError) as failed:
        assert_accessible(page, "a broken page")

    message = str(failed.value)
    assert "a broken page" in message
    assert "- image-alt (critical): " in message and ": img" in message
    assert "- button-name (critical): " in message and ": button" in message


@pytest.mark.browser
def test_a_screenshot_is_the_whole_page_and_only_when_asked_for(
    page: WebDriver, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("tests.browser.SCREENSHOTS", tmp_path)
    page.get(html_page('<main><h1>Tall</h1><div style="height: 3000px"></div><p>The end</p></main>'))

    monkeypatch.delenv("RETURNFLOW_SCREENSHOTS", raising=False)
    assert screenshot(page, "tall") is None
    assert not list(tmp_path.iterdir())

    monkeypatch.setenv("RETURNFLOW_SCREENSHOTS", "1")
    path = screenshot(page, "tall")
    assert path == tmp_path / "tall.png"
    width, height = png_size(path)
    assert width == 1366 and height > 3000, (width, height)


@pytest.mark.browser
def test_a_failed_wait_says_what_the_browser_showed(page: WebDriver) -> None:
    page.get(html_page("<main><h1>Returns</h1></main>"))

    with pytest.raises(AssertionError) as failed:
        wait_for(page, "#approve", timeout=0.5)

    message = str(failed.value)
    assert message.startswith("no visible '#approve' after 0.5 s on data:text/html")
    assert "<h1>Returns</h1>" in message
    lines = message.splitlines()
    shot, source = Path(lines[1].removeprefix("screenshot: ")), Path(lines[2].removeprefix("page source: "))
    assert shot.suffix == ".png" and shot.read_bytes().startswith(b"\x89PNG")
    assert "<h1>Returns</h1>" in source.read_text()


def test_without_chromium_the_browser_tests_skip_except_in_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("tests.browser.CHROMIUM", tmp_path / "chromium")

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is missing"):
        require_chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="chromium is missing"):
        require_chromium()
