"""Who is signed in to the console, and the form token every change must carry.

The console knows only its own session cookie: an API key or a customer token in an
``Authorization`` header is not looked at, so neither opens a console page. Every POST
carries the session's CSRF token (a hidden ``csrf_token`` field, or the ``X-CSRF-Token``
header htmx sends); the login form, made before there is a session, uses a double-submit
cookie instead. The cookie is HttpOnly and SameSite=Lax, and Secure over https.
"""

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request, Response

from api.auth import Caller
from returnflow.settings import Settings
from store import operators
from store.operators import Operator

SESSION_COOKIE = "rf_console"
LOGIN_CSRF_COOKIE = "rf_console_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
PATH = "/console"


class LoginRequired(Exception):
    """No live session: the browser is sent to the login page (and back to ``next`` after)."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRefused(Exception):
    """A POST without the session's form token (a forged or stale form)."""


@dataclass(frozen=True)
class ConsoleUser:
    operator: Operator
    csrf_token: str

    @property
    def caller(self) -> Caller:
        """The operator as the REST API's use cases know callers: the audit trail names the operator."""
        return Caller(role="operator", key_id=self.operator.name)


def now() -> datetime:
    return datetime.now(UTC)


def secure_cookies(request: Request) -> bool:
    configured: bool | None = request.app.state.settings.console_secure_cookie
    return request.url.scheme == "https" if configured is None else configured


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, path=PATH, httponly=True, samesite="lax", secure=secure_cookies(request))


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path=PATH)


@dataclass(frozen=True)
class FormTokenCookie:
    """The form token of pages shown before there is a session (the login form, the customer's tracking
    page): a double-submit cookie, HttpOnly and SameSite=Strict, that each form repeats in a hidden field."""

    cookie: str
    path: str

    def token(self, request: Request) -> str:
        """The token the cookie already holds, else a new one (``keep`` it on the response)."""
        return request.cookies.get(self.cookie) or secrets.token_urlsafe(32)

    def keep(self, request: Request, response: Response, token: str) -> None:
        response.set_cookie(
            self.cookie, token, path=self.path, httponly=True, samesite="strict", secure=secure_cookies(request)
        )

    def check(self, request: Request, sent: str) -> None:
        expected = request.cookies.get(self.cookie, "")
        if not expected or not hmac.compare_digest(expected, sent):
            raise CsrfRefused


LOGIN_FORM = FormTokenCookie(LOGIN_CSRF_COOKIE, PATH)


def idle_limit(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.console_idle_minutes)


async def console_user(request: Request) -> ConsoleUser:
    """The signed-in operator; ``LoginRequired`` when there is none, the session went idle or the operator
    was disabled (checked at every request). A POST must carry the session's form token."""
    token = request.cookies.get(SESSION_COOKIE)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not token:
        raise LoginRequired(target)
    async with request.app.state.database.transaction() as session:
        found = await operators.signed_in(session, token, now(), idle_limit(request.app.state.settings))
    if found is None:
        raise LoginRequired(target)
    if request.method == "POST":
        sent = request.headers.get(CSRF_HEADER) or str((await request.form()).get(CSRF_FIELD, ""))
        if not hmac.compare_digest(found.csrf_token, sent):
            raise CsrfRefused
    return ConsoleUser(operator=found.operator, csrf_token=found.csrf_token)


def login_url(next_path: str) -> str:
    return f"{PATH}/login?next={quote(next_path, safe='/')}"


def safe_next(next_path: str | None) -> str:
    """Where to go after login: a console path only (never another site)."""
    if next_path and next_path.startswith(PATH + "/") and not next_path.startswith("//"):
        return next_path
    return PATH + "/"


SignedInUser = Annotated[ConsoleUser, Depends(console_user)]
