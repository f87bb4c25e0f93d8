"""The real-browser harness of the console tests: headless Chromium through Selenium, axe-core, screenshots, and the
stack the browser talks to.

    @pytest.mark.browser
    async def test_the_queue(page: WebDriver, console_stack: ConsoleStack) -> None:
        ...  # seed through console_stack.database or the API at console_stack.url
        page.get(console_stack.url + "/console/")
        wait_for_text(page, "Queue")
        assert_accessible(page, "queue")
        screenshot(page, "console-queue")

The app, its worker and its sandbox run on an event loop of their own, in a thread (``console_stack``): WebDriver
calls block, and a blocked test loop could not answer the browser. So a test may call the driver directly, from a
plain or an async test, and await the database or the Temporal client in between.

Debian's ``chromium`` and ``chromium-driver`` (``./scripts/bootstrap`` installs them) and nothing else: both paths are
given, so Selenium Manager never runs, let alone downloads a browser. Without them the browser tests are skipped,
except in CI, where they fail.
"""

import base64
import os
import re
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import pytest
from anyio.from_thread import start_blocking_portal
from selenium.common.exceptions import (
    JavascriptException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver import Chrome, ChromeOptions
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from returnflow.serve import serve_app
from returnflow.temporal import connect
from sandbox.app import create_app as create_sandbox_app
from store.db import Database
from tests.conftest import running_worker, settings_for

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1366,900",
    "--hide-scrollbars",  # a full-page screenshot is as wide as the window
)
# The language the console answers in (the Accept-Language header) does not depend on the machine's locale.
PREFERENCES = {"intl.accept_languages": "en-US,en"}
TIMEOUT = 10.0  # seconds a wait_for* helper waits
PAGE_LOAD_SECONDS = 30
SCRIPT_SECONDS = 30  # axe on a large page
AXE = Path(__file__).with_name("vendor") / "axe-4.14.1.min.js"
BLOCKING_IMPACTS = ("serious", "critical")
SHOWN_TARGETS = 3
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
SCREENSHOT_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
FAILURES = Path(tempfile.gettempdir()) / "returnflow-browser-failures"
SOURCE_SHOWN = 4000  # characters of the page source in a failed wait's message (all of it is saved next to the PNG)

RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ['violations']}).then(
  (results) => done(results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((node) => node.target.flat().join(' ')),
  }))),
  (error) => done({error: String(error)}),
);
"""


def require_chromium() -> None:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        reason = (
            f"the browser tests need Debian's chromium and chromium-driver, and {', '.join(missing)} is missing "
            "(./scripts/bootstrap installs them)"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """One headless Chromium for the session, on a profile of its own; tests use ``page``."""
    require_chromium()
    # Selenium Manager is skipped when the driver's path is given; should it run anyway, it must not download.
    os.environ["SE_OFFLINE"] = "true"
    options = ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", PREFERENCES)
    driver = Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(PAGE_LOAD_SECONDS)
    driver.set_script_timeout(SCRIPT_SECONDS)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser: WebDriver) -> WebDriver:
    """The browser as a first-time visitor: a blank page, no cookies, no storage left by an earlier test."""
    reset(browser)
    return browser


def reset(driver: WebDriver) -> None:
    """Forget the cookies of every site and the storage of the page the driver is on, and leave it."""
    if driver.current_url.startswith("http"):
        driver.execute_script("localStorage.clear(); sessionStorage.clear();")
    driver.get("about:blank")
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})


@dataclass(frozen=True)
class ConsoleStack:
    url: str  # the app, no trailing slash
    sandbox_url: str
    database: Database  # the app's database, connected on the test's event loop
    client: Client  # the app's Temporal server, connected on the test's event loop


@pytest.fixture(scope="session")
def console_stack(local_env: WorkflowEnvironment, database: Database) -> Iterator[ConsoleStack]:
    """The app as the ``api`` fixture serves it, with a worker and the sandbox, on an event loop in a thread.

    The app and the worker have their own connections to the same database and Temporal server, made on that loop;
    ``database`` and ``client`` are the test's."""
    temporal = local_env.client
    stack = _serve_stack(database.url, temporal.service_client.config.target_host, temporal.namespace)
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(stack) as (url, sandbox_url):
        yield ConsoleStack(url, sandbox_url, database, temporal)


@asynccontextmanager
async def _serve_stack(database_url: str, temporal_address: str, namespace: str) -> AsyncIterator[tuple[str, str]]:
    database = Database(database_url)
    try:
        async with serve_app(create_sandbox_app()) as sandbox_url:
            settings = settings_for(sandbox_url, database).model_copy(
                update={"temporal_address": temporal_address, "temporal_namespace": namespace}
            )
            temporal = await connect(settings)
            app = create_app(settings, temporal=temporal, database=database)
            async with running_worker(temporal, settings, database), serve_app(app) as url:
                yield url, sandbox_url
    finally:
        await database.dispose()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The console's browser tests run on SQLite only (the stack would run on PostgreSQL as it is): what the store
    does on PostgreSQL is the API tests' to cover, and twice the browser tests is a lot of time on a small machine."""
    on_postgres = [
        item
        for item in items
        if isinstance(item, pytest.Function)
        and "console_stack" in item.fixturenames
        and hasattr(item, "callspec")
        and item.callspec.params.get("database") == "postgresql"
    ]
    if on_postgres:
        config.hook.pytest_deselected(items=on_postgres)
        items[:] = [item for item in items if item not in on_postgres]


def wait_for(driver: WebDriver, css: str, timeout: float = TIMEOUT) -> WebElement:
    """The first visible element matching ``css``."""

    def visible(driver: WebDriver) -> WebElement | Literal[False]:
        return next(
            (element for element in driver.find_elements(By.CSS_SELECTOR, css) if element.is_displayed()), False
        )

    return _wait(driver, visible, f"no visible {css!r}", timeout)


def wait_for_text(driver: WebDriver, text: str, css: str = "body", timeout: float = TIMEOUT) -> WebElement:
    """The first element matching ``css`` whose rendered text contains ``text``."""

    def showing(driver: WebDriver) -> WebElement | Literal[False]:
        return next((element for element in driver.find_elements(By.CSS_SELECTOR, css) if text in element.text), False)

    return _wait(driver, showing, f"no {css!r} showing {text!r}", timeout)


def wait_for_url(driver: WebDriver, expected: str, timeout: float = TIMEOUT) -> str:
    """Until the browser is at ``expected``: a whole URL, or a path (``/console/``, compared with the URL's path; with
    the query too when ``expected`` has one, ``/console/login?next=%2Fconsole%2F``)."""

    def there(driver: WebDriver) -> str | Literal[False]:
        url = driver.current_url
        if expected.startswith("/"):
            parts = urlsplit(url)
            at = parts.path + (f"?{parts.query}" if "?" in expected else "")
        else:
            at = url
        return url if at == expected else False

    return _wait(driver, there, f"not at {expected!r}", timeout)


T = TypeVar("T")
PAGE_CHANGED = (StaleElementReferenceException, JavascriptException)
# What chromedriver says, as a plain WebDriverException, of an element whose document was replaced while it read it.
NODE_OF_A_REPLACED_PAGE = "does not belong to the document"


def _wait(driver: WebDriver, found: Callable[[WebDriver], T | Literal[False]], what: str, timeout: float) -> T:
    def look(driver: WebDriver) -> T | Literal[False]:
        try:
            return found(driver)
        except WebDriverException as error:
            if NODE_OF_A_REPLACED_PAGE in (error.msg or ""):
                return False
            raise

    try:
        # A page that navigates while we look leaves stale elements behind: look again, as after any change.
        return WebDriverWait(driver, timeout, ignored_exceptions=PAGE_CHANGED).until(look)
    except TimeoutException:
        raise AssertionError(_failure(driver, f"{what} after {timeout} s")) from None


def _failure(driver: WebDriver, what: str) -> str:
    """``what`` with where the browser was, and what it showed: a screenshot and the page source, saved."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "browser").rsplit(" ", 1)[0]
    stem = re.sub(r"[^\w-]+", "_", test)
    shot, saved_source = FAILURES / f"{stem}.png", FAILURES / f"{stem}.html"
    FAILURES.mkdir(parents=True, exist_ok=True)
    source = driver.page_source
    saved_source.write_text(source)
    shot.write_bytes(_full_page_png(driver))
    return f"{what} on {driver.current_url}\nscreenshot: {shot}\npage source: {saved_source}\n{source[:SOURCE_SHOWN]}"


@cache
def _axe_source() -> str:
    return AXE.read_text()


def assert_accessible(driver: WebDriver, name: str) -> None:
    """Fails on every serious or critical violation axe-core finds on the current page (``name`` says which)."""
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(_axe_source())
    violations: Any = driver.execute_async_script(RUN_AXE)
    assert isinstance(violations, list), f"axe-core did not run on {name}: {violations}"
    blocking = [violation for violation in violations if violation["impact"] in BLOCKING_IMPACTS]
    lines = []
    for violation in blocking:
        targets = violation["targets"]
        more = f" and {len(targets) - SHOWN_TARGETS} more" if len(targets) > SHOWN_TARGETS else ""
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}: "
            f"{', '.join(targets[:SHOWN_TARGETS])}{more}"
        )
    assert not blocking, (
        f"{name} ({driver.current_url}) has {len(blocking)} serious or critical accessibility violations:\n"
        + "\n".join(lines)
    )


def screenshot(driver: WebDriver, name: str) -> Path | None:
    """The whole page as docs/screenshots/<name>.png, when ``RETURNFLOW_SCREENSHOTS`` is set (./scripts/screenshots)."""
    if not os.environ.get("RETURNFLOW_SCREENSHOTS"):
        return None
    assert SCREENSHOT_NAME.fullmatch(name), f"a screenshot's name is lowercase letters, digits and dashes: {name!r}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    path.write_bytes(_full_page_png(driver))
    return path


def _full_page_png(driver: WebDriver) -> bytes:
    """The page as laid out, below the window's bottom edge too."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    return base64.b64decode(shot["data"])
