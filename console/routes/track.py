"""The customer's tracking page, ``/track/{return_id}``: where the return is, what comes next, what the customer may do.

The storefront links to it with a customer token (``POST /v1/customer-sessions``):
``/track/{id}?token=rfc_…``; a customer's message links to it with a tracking token that opens this one
return's page only, for longer (``/track/{id}?token=rft_…``, ``domain/tracking_links.py``), and names no
customer. The page keeps the token in an HttpOnly cookie scoped to ``/track`` and sends the browser on to
the bare address, so the token leaves the address bar (and never reaches a ``Referer``). Without a valid
token, or with another customer's, the page says only that the link is no longer valid (or has expired):
it never shows the return, nor whether it exists.

Every act is a form that runs the REST API's use case (``api/return_acts.py``, the survey's
``api/surveys.py``) with the customer as the caller; forms carry a double-submit token
(``console/sessions.FormTokenCookie``), as the console's login form does. The page is in the
browser's language (English or Simplified Chinese).
"""

import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api import return_acts
from api.auth import Caller, customer_caller
from api.deps import temporal
from api.problems import Problem
from api.surveys import answer_survey
from console.forms import validated
from console.i18n import preferred_language
from console.sessions import CsrfRefused, FormTokenCookie, secure_cookies
from console.templating import respond
from domain import tracking_links
from domain.acts import offered_acts
from domain.progress import progress
from domain.returns import FINAL_STATUSES, CancelRequest, DisputeRequest, ReturnView
from domain.surveys import SCORES, SurveyAnswer
from returnflow.session_secret import session_secret
from store import returns
from store.surveys import SurveyView, survey_answer

PATH = "/track"
TOKEN_COOKIE = "rf_track"
FORM = FormTokenCookie("rf_track_form", PATH)
router = APIRouter(prefix=PATH, include_in_schema=False)
ReturnId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
# What the page says after an act went through (``?done=``).
Done = Literal["canceled", "urged", "disputed", "surveyed"]
DONE: frozenset[str] = frozenset(get_args(Done))
FORM_TEXT = Form(max_length=10_000)
FormToken = Annotated[str, Form(max_length=128)]


class LinkInvalid(Exception):
    """No token, a forged or expired one, or another customer's return: the page shows none of it."""

    def __init__(self, status_code: int, expired: bool = False) -> None:
        super().__init__(status_code)
        self.status_code = status_code
        self.expired = expired


def _language(request: Request) -> str:
    return preferred_language(request.headers.get("accept-language", ""))


def _invalid_page(request: Request, status_code: int, expired: bool = False) -> HTMLResponse:
    """The link is not valid (401: no, a forged or an ``expired`` token, 404: not this customer's return); a 403
    is a form that did not carry the page's form token."""
    context = {"form_refused": status_code == 403, "expired": expired}
    return respond("track/invalid.html", context, _language(request), status_code)


def _check_link(request: Request, token: str, return_id: str) -> None:
    """``LinkInvalid`` unless the tracking token opens ``return_id``'s page now."""
    checked = tracking_links.check(session_secret(request.app.state.settings), token, return_id, time.time())
    if checked is not tracking_links.LinkCheck.VALID:
        raise LinkInvalid(401, expired=checked is tracking_links.LinkCheck.EXPIRED)


async def _customer(request: Request, return_id: str) -> Caller:
    """The customer the page's token speaks for: a customer token's, or (a tracking link's) the return's owner."""
    token = request.cookies.get(TOKEN_COOKIE, "")
    if not token:
        raise LinkInvalid(401)
    if tracking_links.is_tracking_token(token):
        _check_link(request, token, return_id)
        async with request.app.state.database.sessions() as session:
            view = await returns.get_return(session, return_id)
        if view is None:
            raise LinkInvalid(404)
        return Caller(role="customer", key_id="tracking-link", customer_id=view.customer_id)
    try:
        return customer_caller(request.app.state.settings, token)
    except Problem:
        raise LinkInvalid(401) from None


def _token_lifetime(request: Request, token: str, return_id: str) -> int:
    """How long (seconds) the page's cookie keeps ``token``: a tracking link's until it expires, a customer
    token's as long as a session lasts. ``LinkInvalid`` when it opens nothing."""
    if tracking_links.is_tracking_token(token):
        _check_link(request, token, return_id)
        return max(1, (tracking_links.expiry(token) or 0) - int(time.time()))
    try:
        customer_caller(request.app.state.settings, token)
    except Problem:
        raise LinkInvalid(401) from None
    return int(request.app.state.settings.session_ttl_minutes * 60)


async def _own_return(request: Request, caller: Caller, return_id: str) -> tuple[ReturnView, SurveyView | None]:
    """The customer's return and its survey answer (None while unanswered)."""
    async with request.app.state.database.sessions() as session:
        try:
            view = await return_acts.visible_return(session, return_id, caller)
        except Problem:
            raise LinkInvalid(404) from None
        return view, await survey_answer(session, return_id)


async def _page(
    request: Request, return_id: str, *, problem: Problem | None = None, done: str | None = None
) -> HTMLResponse:
    try:
        view, answered = await _own_return(request, await _customer(request, return_id), return_id)
    except LinkInvalid as invalid:
        return _invalid_page(request, invalid.status_code, invalid.expired)
    ended = view.status in FINAL_STATUSES
    nodes = progress(view)
    form_token = FORM.token(request)
    context = {
        "view": view,
        "nodes": nodes,
        "current": next((node for node in nodes if node.state == "current"), None),
        "may_cancel": offered_acts(view).cancel,
        "may_urge": not ended,
        "may_dispute": ended,
        "may_answer_survey": ended and answered is None,
        "scores": SCORES,
        "csrf_token": form_token,
        "problem": problem,
        "done": done if done in DONE else None,
    }
    response = respond("track/page.html", context, _language(request), problem.status if problem else 200)
    FORM.keep(request, response, form_token)
    return response


@router.get("/{return_id}", response_class=HTMLResponse, response_model=None)
async def tracking_page(
    request: Request, return_id: ReturnId, token: str = "", done: str = ""
) -> HTMLResponse | RedirectResponse:
    """With ``?token=``: keep the token in the page's cookie and go on to the bare address."""
    if not token:
        return await _page(request, return_id, done=done)
    try:
        lifetime = _token_lifetime(request, token, return_id)
    except LinkInvalid as invalid:
        return _invalid_page(request, invalid.status_code, invalid.expired)
    response = RedirectResponse(f"{PATH}/{return_id}", status_code=303)
    response.set_cookie(
        TOKEN_COOKIE,
        token,
        path=PATH,
        max_age=lifetime,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )
    return response


async def _act(request: Request, return_id: str, form_token: str, act: Callable[[Caller], Awaitable[Done]]) -> Response:
    """Run ``act`` as the page's customer (it says what was done); a refusal shows the page with it in words."""
    try:
        caller = await _customer(request, return_id)
        FORM.check(request, form_token)
    except LinkInvalid as invalid:
        return _invalid_page(request, invalid.status_code, invalid.expired)
    except CsrfRefused:
        return _invalid_page(request, 403)
    try:
        done = await act(caller)
    except Problem as problem:
        return await _page(request, return_id, problem=problem)
    return RedirectResponse(f"{PATH}/{return_id}?done={done}", status_code=303)


@router.post("/{return_id}/cancel")
async def cancel(
    request: Request,
    return_id: ReturnId,
    csrf_token: FormToken = "",
    note: Annotated[str, FORM_TEXT] = "",
) -> Response:
    async def act(caller: Caller) -> Done:
        body = validated(CancelRequest, {"note": note.strip()})
        await return_acts.cancel_return(temporal(request), request.app.state.database, caller, return_id, body)
        return "canceled"

    return await _act(request, return_id, csrf_token, act)


@router.post("/{return_id}/urge")
async def urge(request: Request, return_id: ReturnId, csrf_token: FormToken = "") -> Response:
    async def act(caller: Caller) -> Done:
        await return_acts.urge_return(temporal(request), request.app.state.database, caller, return_id)
        return "urged"

    return await _act(request, return_id, csrf_token, act)


@router.post("/{return_id}/dispute")
async def dispute(
    request: Request,
    return_id: ReturnId,
    csrf_token: FormToken = "",
    message: Annotated[str, FORM_TEXT] = "",
) -> Response:
    async def act(caller: Caller) -> Done:
        body = validated(DisputeRequest, {"message": message.strip()})
        await return_acts.dispute_return(request.app.state.database, caller, return_id, body.message)
        return "disputed"

    return await _act(request, return_id, csrf_token, act)


@router.post("/{return_id}/survey")
async def survey(
    request: Request,
    return_id: ReturnId,
    csrf_token: FormToken = "",
    score: Annotated[str, Form(max_length=8)] = "",
    comment: Annotated[str, FORM_TEXT] = "",
) -> Response:
    async def act(caller: Caller) -> Done:
        chosen = int(score) if score.isdigit() else score  # a form's number is text; SurveyAnswer wants a number
        body = validated(SurveyAnswer, {"score": chosen, "comment": comment.strip()})
        await answer_survey(request.app.state.database, caller, return_id, body)
        return "surveyed"

    return await _act(request, return_id, csrf_token, act)
