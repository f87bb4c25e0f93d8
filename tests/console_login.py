"""A console session for an HTTP test: a new operator, logged in through the login form."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from store.db import Database
from tests.api_client import Callers
from tests.test_console_sessions import browser_for, log_in, new_operator


@asynccontextmanager
async def signed_in(
    api: Callers, database: Database, language: str = "en"
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A browser-like client with the session cookie, and the operator's name."""
    name = await new_operator(database, language)
    async with browser_for(api) as browser:
        assert (await log_in(browser, name)).status_code == 303
        yield browser, name
