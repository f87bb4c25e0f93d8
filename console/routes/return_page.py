"""The return page: everything about one return, read from the read model, and the acts that fit it now.

Each act is a form that runs the same use case as the REST API (``api/return_acts.py``,
``api/attention.py``) with the operator as the caller. A refusal (the return moved on,
an invalid inspection, the engine down) shows the page again with the problem in words
and the form as it was filled; a success goes back to the page with a notice. Rebooking a
missed pickup picks one of the slots the carrier offers now.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Literal, get_args
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api import return_acts
from api.attention import resolve_attention
from api.deps import temporal
from api.pickup_slots import offered_slots
from api.problems import Problem
from console.forms import validated
from console.grading import CONDITIONS, DISPOSITIONS, Grade, grades_from, inspection_from
from console.sessions import PATH, ConsoleUser, SignedInUser
from console.templating import render
from domain.acts import offered_acts
from domain.attention import Resolution
from domain.orders import Order
from domain.pickup_slots import PickupSlot
from domain.progress import progress
from domain.returns import CancelRequest, ReturnView, ReviewDecision
from returnflow.settings import Settings
from store import audit, ledger, orders, returns, submissions, surveys

router = APIRouter(prefix=PATH + "/returns", include_in_schema=False)
ReturnId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
# What the page says after an act went through (``?done=``).
Done = Literal["approved", "rejected", "inspected", "resolved", "canceled"]
DONE: frozenset[str] = frozenset(get_args(Done))
# The audit entries the page lists; the REST API pages through all of them.
AUDIT_ENTRIES = 200
# Form fields are bounded by the models they become; this only stops an absurd body early.
FORM_TEXT = Form(max_length=10_000)


@dataclass(frozen=True)
class Refused:
    """The form the API refused, as the operator filled it: shown again even if the act no longer fits."""

    act: Literal["review", "inspect", "resolve", "cancel"]
    note: str = ""
    action: str = ""
    reference: str = ""
    pickup_slot: str = ""
    grades: dict[str, Grade] = field(default_factory=dict)


def slot_choice(slot: PickupSlot) -> str:
    """A pickup slot as a form's value: ``<start>/<end>`` (an ISO 8601 interval)."""
    return f"{slot.start.isoformat()}/{slot.end.isoformat()}"


def chosen_slot(choice: str) -> dict[str, str] | None:
    """A form's ``slot_choice`` as a Resolution's ``pickup_slot`` (None when none was chosen)."""
    start, _, end = choice.partition("/")
    return {"start": start, "end": end} if choice else None


async def _rebooking_choices(request: Request, order: Order) -> list[tuple[str, PickupSlot]] | None:
    """The slots a missed pickup may be rebooked for, as the form offers them; None when the carrier does
    not answer."""
    try:
        slots = await offered_slots(request.app.state.carrier, order)
    except Problem:
        return None
    return [(slot_choice(slot), slot) for slot in slots]


def temporal_ui_link(settings: Settings, workflow_id: str) -> str:
    """The return's run in Temporal UI (its workflow id is the return's id)."""
    namespace = quote(settings.temporal_namespace or "default", safe="")
    return f"{settings.temporal_ui_origins[0]}/namespaces/{namespace}/workflows/{quote(workflow_id, safe='')}"


async def _page(
    request: Request,
    user: ConsoleUser,
    return_id: str,
    *,
    problem: Problem | None = None,
    refused: Refused | None = None,
    done: str | None = None,
) -> HTMLResponse:
    async with request.app.state.database.sessions() as session:
        view = await returns.get_return(session, return_id)
        if view is None:
            return await render(request, user, "return_missing.html", 404, section="returns", return_id=return_id)
        money = await ledger.money_lines(session, return_id)
        audit_items, more = await audit.entries(session, return_id, AUDIT_ENTRIES, None)
        asked = await returns.return_request(session, return_id)
        notes = {note.line_id: note for note in await submissions.submission(session, return_id)}
        survey = await surveys.survey_answer(session, return_id)
        offered = offered_acts(view)
        found = await orders.get_order(session, view.order_id) if "rebook_pickup" in offered.resolve else None
    rebooking = await _rebooking_choices(request, found[0]) if found is not None else []
    return await render(
        request,
        user,
        "return.html",
        problem.status if problem else 200,
        section="returns",
        view=view,
        nodes=progress(view),
        offered=offered,
        rebooking=rebooking,
        money=money,
        audit_items=audit_items,
        audit_more=more is not None,
        pickup_slot=view.logistics.pickup_slot or (asked.logistics.pickup_slot if asked else None),
        notes=notes,
        survey=survey,
        temporal_url=temporal_ui_link(request.app.state.settings, return_id),
        conditions=CONDITIONS,
        dispositions=DISPOSITIONS,
        problem=problem,
        refused=refused,
        done=done if done in DONE else None,
    )


async def _act(
    request: Request, user: ConsoleUser, return_id: str, refused: Refused, act: Callable[[], Awaitable[Done]]
) -> Response:
    """Run ``act`` (it says what was done); on a Problem, the page again with it and the form as filled."""
    try:
        done = await act()
    except Problem as problem:
        return await _page(request, user, return_id, problem=problem, refused=refused)
    return RedirectResponse(f"{PATH}/returns/{return_id}?done={done}", status_code=303)


@router.get("/{return_id}", response_class=HTMLResponse)
async def return_page(request: Request, user: SignedInUser, return_id: ReturnId, done: str = "") -> HTMLResponse:
    return await _page(request, user, return_id, done=done)


@router.post("/{return_id}/review")
async def review(
    request: Request,
    user: SignedInUser,
    return_id: ReturnId,
    decision: Annotated[str, FORM_TEXT],
    note: Annotated[str, FORM_TEXT] = "",
) -> Response:
    async def act() -> Done:
        body = validated(ReviewDecision, {"decision": decision, "note": note.strip()})
        await return_acts.review_return(temporal(request), request.app.state.database, user.caller, return_id, body)
        return "approved" if body.decision == "approve" else "rejected"

    return await _act(request, user, return_id, Refused(act="review", note=note), act)


@router.post("/{return_id}/inspection")
async def inspect(request: Request, user: SignedInUser, return_id: ReturnId) -> Response:
    view = await stored_return(request, return_id)
    if view is None:
        return await _page(request, user, return_id)
    grades = grades_from(await request.form(), view.lines)

    async def act() -> Done:
        inspection = inspection_from(grades, view.lines)
        await return_acts.inspect_return(
            temporal(request), request.app.state.database, user.caller, return_id, inspection
        )
        return "inspected"

    return await _act(request, user, return_id, Refused(act="inspect", grades=grades), act)


@router.post("/{return_id}/resolve")
async def resolve(
    request: Request,
    user: SignedInUser,
    return_id: ReturnId,
    action: Annotated[str, FORM_TEXT],
    note: Annotated[str, FORM_TEXT] = "",
    reference: Annotated[str, FORM_TEXT] = "",
    pickup_slot: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    async def act() -> Done:
        fields = {"action": action, "note": note.strip(), "reference": reference.strip()}
        body = validated(Resolution, fields | {"pickup_slot": chosen_slot(pickup_slot)})
        await resolve_attention(
            temporal(request), request.app.state.database, request.app.state.carrier, user.caller, return_id, body
        )
        return "resolved"

    refused = Refused(act="resolve", note=note, action=action, reference=reference, pickup_slot=pickup_slot)
    return await _act(request, user, return_id, refused, act)


@router.post("/{return_id}/cancel")
async def cancel(
    request: Request, user: SignedInUser, return_id: ReturnId, note: Annotated[str, FORM_TEXT] = ""
) -> Response:
    async def act() -> Done:
        body = validated(CancelRequest, {"note": note.strip()})
        await return_acts.cancel_return(temporal(request), request.app.state.database, user.caller, return_id, body)
        return "canceled"

    return await _act(request, user, return_id, Refused(act="cancel", note=note), act)


async def stored_return(request: Request, return_id: str) -> ReturnView | None:
    async with request.app.state.database.sessions() as session:
        return await returns.get_return(session, return_id)
