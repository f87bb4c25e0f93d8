"""Console accounts and sessions over real HTTP: log in, forms need their token, out when idle or disabled."""

import re
import secrets
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import update

from store import operators
from store.audit import entries as audit_entries
from store.db import Database
from store.tables import ConsoleSession
from tests.api_client import Callers

PASSWORD = "correct horse battery"


async def new_operator(database: Database, language: str = "en") -> str:
    name = "op-" + secrets.token_hex(4)
    async with database.transaction() as session:
        await operators.save_operator(session, name, PASSWORD, datetime.now(UTC), language)
    return name


def form_token(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


async def log_in(browser: httpx.AsyncClient, name: str, password: str = PASSWORD) -> httpx.Response:
    login = await browser.get("/console/login")
    return await browser.post(
        "/console/login",
        data={"name": name, "password": password, "csrf_token": form_token(login), "next": "/console/"},
    )


def browser_for(api: Callers) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=str(api.anonymous.base_url), timeout=30)


async def test_an_operator_logs_in_sees_the_console_and_logs_out(api: Callers, database: Database) -> None:
    name = await new_operator(database)
    async with browser_for(api) as browser:
        assert (await browser.get("/console/")).status_code == 303  # not signed in: to the login page

        signed_in = await log_in(browser, name)
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/console/"
        cookie = signed_in.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie

        home = await browser.get("/console/")
        assert home.status_code == 200 and name in home.text
        assert "default-src 'self'" in home.headers["content-security-policy"]

        out = await browser.post("/console/logout", data={"csrf_token": form_token(home)})
        assert out.status_code == 303
        browser.cookies.clear()
        browser.cookies.set("rf_console", cookie.split(";")[0].split("=", 1)[1], path="/console")
        assert (await browser.get("/console/")).status_code == 303  # the old cookie opens nothing any more

    async with database.sessions() as session:
        entries, _ = await audit_entries(session, name, 10, None)
    assert [entry.action for entry in entries] == ["console.login", "console.logout"]
    assert entries[0].actor.role == "operator" and entries[0].actor.id == name


async def test_a_wrong_password_or_an_unknown_name_is_refused_alike(api: Callers, database: Database) -> None:
    name = await new_operator(database)
    async with browser_for(api) as browser:
        wrong = await log_in(browser, name, "not the password at all")
        unknown = await log_in(browser, "nobody-" + secrets.token_hex(3))
    assert wrong.status_code == unknown.status_code == 401
    assert "The name or the password is wrong." in wrong.text
    assert "rf_console=" not in wrong.headers.get("set-cookie", "")


async def test_a_form_without_the_session_token_is_refused(api: Callers, database: Database) -> None:
    name = await new_operator(database)
    async with browser_for(api) as browser:
        await log_in(browser, name)
        forged = await browser.post("/console/logout", data={"csrf_token": "guessed"})
        missing = await browser.post("/console/language", data={"language": "zh-Hans"})
        assert forged.status_code == missing.status_code == 403
        assert (await browser.get("/console/")).status_code == 200  # still signed in: nothing was done
        login_page = await browser.get("/console/login")
        browser.cookies.clear()
        no_cookie = await browser.post(
            "/console/login", data={"name": name, "password": PASSWORD, "csrf_token": form_token(login_page)}
        )
    assert no_cookie.status_code == 403  # the login form's token must match its cookie too


async def test_a_disabled_operator_is_out_at_the_next_request(api: Callers, database: Database) -> None:
    name = await new_operator(database)
    async with browser_for(api) as browser:
        await log_in(browser, name)
        assert (await browser.get("/console/")).status_code == 200
        async with database.transaction() as session:
            assert await operators.disable_operator(session, name, datetime.now(UTC))
        assert (await browser.get("/console/")).status_code == 303
        assert (await log_in(browser, name)).status_code == 401


async def test_an_idle_session_ends(api: Callers, database: Database) -> None:
    name = await new_operator(database)
    async with browser_for(api) as browser:
        await log_in(browser, name)
        async with database.transaction() as session:
            long_ago = datetime.now(UTC) - timedelta(hours=2)
            await session.execute(update(ConsoleSession).values(last_seen_at=long_ago))
        redirect = await browser.get("/console/?section=review")
    assert redirect.status_code == 303
    assert redirect.headers["location"] == "/console/login?next=/console/%3Fsection%3Dreview"


async def test_api_credentials_open_no_console_page(api: Callers) -> None:
    for caller in (api.service, api.operator):
        page = await caller.get("/console/")
        assert page.status_code == 303 and page.headers["location"].startswith("/console/login")


async def test_the_operator_reads_the_console_in_the_language_it_picks(api: Callers, database: Database) -> None:
    name = await new_operator(database)
    async with browser_for(api) as browser:
        await log_in(browser, name)
        home = await browser.get("/console/")
        assert "Log out" in home.text and 'lang="en"' in home.text
        switched = await browser.post("/console/language", data={"csrf_token": form_token(home), "language": "zh-Hans"})
        assert switched.status_code == 303
        chinese = await browser.get("/console/")
    assert 'lang="zh-Hans"' in chinese.text and "退出登录" in chinese.text


async def test_password_guessing_is_slowed_down(api: Callers, database: Database) -> None:
    name = await new_operator(database)
    async with browser_for(api) as browser:
        answers = [(await log_in(browser, name, f"guess number {n}!")).status_code for n in range(12)]
        blocked = await log_in(browser, name)
    assert answers[:10] == [401] * 10 and 429 in answers[10:]
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
    assert "Too many attempts" in blocked.text
