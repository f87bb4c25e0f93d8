"""What the console's list pages share: the next page's link, an out-of-date cursor, the list alone for htmx.

A list page works as plain links and forms; with htmx its filter form and page links
fetch the same URL (pushed to the address bar) and swap in the list only, so the server
answers an htmx request with the list's template alone. A history restore (back button,
nothing cached) asks for the whole page again.
"""

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import HTMLResponse

from api.problems import Problem
from console.sessions import ConsoleUser
from console.templating import render, respond

Cursor = Annotated[str | None, Query(max_length=512)]


def stale_cursor() -> Problem:
    """A page link that no longer fits (or was edited): the first page is shown instead."""
    return Problem(422, "that page link is out of date or altered; this is the first page")


@dataclass(frozen=True)
class Paging:
    """The links of a list page: to the page after it (None on the last), back to the first (None on it)."""

    next_url: str | None
    first_url: str | None


def paging(request: Request, next_cursor: str | None) -> Paging:
    """The same filters, with the next page's cursor or with none."""
    kept = [(name, value) for name, value in request.query_params.multi_items() if name != "cursor" and value]
    first = f"{request.url.path}?{urlencode(kept)}" if kept else request.url.path
    return Paging(
        next_url=f"{request.url.path}?{urlencode([*kept, ('cursor', next_cursor)])}" if next_cursor else None,
        first_url=first if request.query_params.get("cursor") else None,
    )


def fragment_requested(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


async def list_page(
    request: Request, user: ConsoleUser, page: str, fragment: str, section: str, **context: Any
) -> HTMLResponse:
    """The whole ``page`` (which includes ``fragment``), or for htmx the ``fragment`` alone."""
    if fragment_requested(request):
        return respond(fragment, {"request": request, **context}, user.operator.language)
    return await render(request, user, page, section=section, **context)
