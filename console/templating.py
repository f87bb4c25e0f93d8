"""Rendering the console's pages: Jinja2 with the operator's language, the form token and the queue counts."""

from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from console.formatting import FILTERS
from console.i18n import LANGUAGE_NAMES, translations
from console.sessions import CSRF_FIELD, CSRF_HEADER, ConsoleUser
from store.queues import QueueCounts, queue_counts

TEMPLATES = Path(__file__).with_name("templates")
# Console pages may load only the app's own scripts and styles; nothing may frame them.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@cache
def environment(language: str) -> Environment:
    """One environment per language, its catalogs installed (``{{ _("…") }}`` and ``{% trans %}``)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(FILTERS)
    env.globals.update(language=language, language_names=LANGUAGE_NAMES, csrf_field=CSRF_FIELD)
    return env


def respond(template: str, context: dict[str, Any], language: str, status_code: int = 200) -> HTMLResponse:
    html = environment(language).get_template(template).render(context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


async def render(
    request: Request, user: ConsoleUser, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A console page for ``user``: ``context`` plus who is signed in, the form token and the queue counts."""
    async with request.app.state.database.sessions() as session:
        counts: QueueCounts = await queue_counts(session)
    page = {
        "request": request,
        "user": user.operator,
        "csrf_token": user.csrf_token,
        "csrf_headers": f'{{"{CSRF_HEADER}": "{user.csrf_token}"}}',
        "counts": counts,
        **context,
    }
    return respond(template, page, user.operator.language, status_code)
