"""The tickets page: the work for a person, filtered by kind and state; one ticket, resolved with a note.

A ticket of a return's attention is resolved by one of the actions the return waits for, run on the
return as ``POST /v1/tickets/{id}/resolve`` runs it (``api.ticket_resolution``).
"""

import typing
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api import ticket_resolution
from api.deps import temporal
from api.problems import Problem
from console.sessions import PATH, ConsoleUser, SignedInUser
from console.templating import render
from domain.attention import NEEDS_REFERENCE, AttentionAction
from domain.tickets import TicketKind
from store import returns, tickets
from store.cursor import BadCursor
from store.tickets import TicketView

router = APIRouter(prefix=PATH, include_in_schema=False)

PAGE_SIZE = 50
TICKET_KINDS: tuple[str, ...] = typing.get_args(TicketKind)
State = Literal["open", "resolved", "all"]


@router.get("/tickets", response_class=HTMLResponse)
async def tickets_page(
    request: Request,
    user: SignedInUser,
    state: State = "open",
    kind: TicketKind | Literal[""] = "",
    cursor: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """Newest first, a page at a time (a cursor this list did not hand out shows the first page)."""
    status = None if state == "all" else state
    async with request.app.state.database.sessions() as session:
        try:
            found = await tickets.list_tickets(session, status, None, PAGE_SIZE + 1, kind=kind or None, cursor=cursor)
            bad_cursor = False
        except BadCursor:
            found = await tickets.list_tickets(session, status, None, PAGE_SIZE + 1, kind=kind or None)
            bad_cursor = True
    page = found[:PAGE_SIZE]
    next_cursor = tickets.ticket_cursor(page[-1]) if len(found) > PAGE_SIZE else None
    return await render(
        request,
        user,
        "tickets.html",
        section="tickets",
        bad_cursor=bad_cursor,
        tickets=page,
        state=state,
        kind=kind,
        kinds=TICKET_KINDS,
        next_cursor=next_cursor,
    )


async def _ticket_page(
    request: Request,
    user: ConsoleUser,
    ticket: TicketView | None,
    problem: Problem | None = None,
    typed: dict[str, str] | None = None,
    note_missing: bool = False,
    done: bool = False,
) -> HTMLResponse:
    """One ticket, its return's wait and the form that resolves it; ``typed``: the form as it was sent."""
    database = request.app.state.database
    actions = await ticket_resolution.waiting_actions(database, ticket) if ticket else []
    async with database.sessions() as session:
        view = await returns.get_return(session, ticket.return_id) if ticket and ticket.return_id else None
    return await render(
        request,
        user,
        "ticket.html",
        status_code=problem.status if problem else 422 if note_missing else 200 if ticket else 404,
        section="tickets",
        problem=problem,
        ticket=ticket,
        return_view=view,
        actions=actions,
        needs_reference=NEEDS_REFERENCE,
        typed=typed or {},
        note_missing=note_missing,
        done=done,
    )


async def _ticket(request: Request, ticket_id: str) -> TicketView | None:
    async with request.app.state.database.sessions() as session:
        return await tickets.get_ticket(session, ticket_id)


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
async def ticket_page(
    request: Request, user: SignedInUser, ticket_id: Annotated[str, Path(max_length=40)], done: bool = False
) -> HTMLResponse:
    return await _ticket_page(request, user, await _ticket(request, ticket_id), done=done)


@router.post("/tickets/{ticket_id}/resolve", response_class=HTMLResponse, response_model=None)
async def resolve_ticket(
    request: Request,
    user: SignedInUser,
    ticket_id: Annotated[str, Path(max_length=40)],
    resolution: Annotated[str, Form(max_length=2000)] = "",
    action: Annotated[AttentionAction | Literal[""], Form()] = "",
    reference: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Resolve it with the note (and the action on its return); a refusal is shown in words, the form kept."""
    typed = {"resolution": resolution, "action": action, "reference": reference}
    if not resolution.strip():
        return await _ticket_page(request, user, await _ticket(request, ticket_id), typed=typed, note_missing=True)
    try:
        await ticket_resolution.resolve_ticket(
            temporal(request),
            request.app.state.database,
            request.app.state.carrier,
            user.caller,
            ticket_id,
            resolution.strip(),
            action or None,
            reference.strip(),
        )
    except Problem as refused:
        return await _ticket_page(request, user, await _ticket(request, ticket_id), refused, typed)
    return RedirectResponse(f"{PATH}/tickets/{ticket_id}?done=true", status_code=303)
