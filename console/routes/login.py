"""Signing in and out of the console, and the language an operator reads it in."""

import contextlib
import math
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from console import sessions
from console.i18n import preferred_language
from console.sessions import SignedInUser
from console.templating import respond
from store import audit, operators, rate_limits
from store.audit import Actor

router = APIRouter(prefix="/console", include_in_schema=False)
# Password guessing: each name may try 10 times at once, then 5 times a minute, counted across every API process.
LOGIN_ATTEMPTS = rate_limits.Rate("console_login", per_minute=5, burst=10)


def _login_page(request: Request, next_path: str, wrong_password: bool = False, wait_seconds: int = 0) -> HTMLResponse:
    token = sessions.LOGIN_FORM.token(request)
    context = {
        "next": sessions.safe_next(next_path),
        "wrong_password": wrong_password,
        "wait_seconds": wait_seconds,
        "login_token": token,
    }
    language = preferred_language(request.headers.get("accept-language", ""))
    status = 429 if wait_seconds else 401 if wrong_password else 200
    response = respond("login.html", context, language, status_code=status)
    if wait_seconds:
        response.headers["Retry-After"] = str(wait_seconds)
    sessions.LOGIN_FORM.keep(request, response, token)
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str = "/console/") -> HTMLResponse:
    return _login_page(request, next)


@router.post("/login", response_class=HTMLResponse, response_model=None)
async def log_in(
    request: Request,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/console/",
) -> HTMLResponse | RedirectResponse:
    sessions.LOGIN_FORM.check(request, csrf_token)
    wait = await rate_limits.take(request.app.state.database, LOGIN_ATTEMPTS, name.strip().lower())
    if wait > 0:
        return _login_page(request, next, wait_seconds=max(1, math.ceil(wait)))
    async with request.app.state.database.transaction() as session:
        operator = await operators.check_password(session, name.strip(), password)
        if operator is None:
            token = None
        else:
            token = await operators.open_session(session, operator, sessions.now())
            await audit.record(session, Actor(role="operator", id=operator.name), "console.login", operator.name)
    if token is None:
        return _login_page(request, next, wrong_password=True)
    response = RedirectResponse(sessions.safe_next(next), status_code=303)
    sessions.set_session_cookie(request, response, token)
    return response


@router.post("/logout")
async def log_out(request: Request, user: SignedInUser) -> RedirectResponse:
    async with request.app.state.database.transaction() as session:
        await operators.close_session(session, request.cookies.get(sessions.SESSION_COOKIE, ""))
        await audit.record(session, user.caller.actor, "console.logout", user.operator.name)
    response = RedirectResponse(sessions.PATH + "/login", status_code=303)
    sessions.clear_session_cookie(response)
    return response


@router.post("/language")
async def choose_language(
    request: Request,
    user: SignedInUser,
    language: Annotated[str, Form(max_length=16)],
    back: Annotated[str, Form(max_length=2048)] = "/console/",
) -> RedirectResponse:
    async with request.app.state.database.transaction() as session:
        # The form offers only the languages there are; anything else leaves the choice as it was.
        with contextlib.suppress(operators.OperatorRefused):
            await operators.set_language(session, user.operator.id, language)
    return RedirectResponse(sessions.safe_next(back), status_code=303)
