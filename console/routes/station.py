"""The inspection station: scan a parcel (tracking number or return id), grade its lines, next parcel.

A barcode scanner types into the focused field and presses Enter: the search is a plain
GET form, so the grading form comes up with its first choice focused, and after the
inspection the station comes back with the scan field focused for the next parcel. The
inspection is the same use case as ``POST /v1/returns/{id}/inspection``.
"""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import temporal
from api.problems import Problem
from api.return_acts import inspect_return
from console.grading import CONDITIONS, DISPOSITIONS, Grade, grades_from, inspection_from
from console.routes.return_page import ReturnId, stored_return
from console.sessions import PATH, ConsoleUser, SignedInUser
from console.templating import render
from domain.acts import inspection_refusal
from domain.returns import ReturnView
from store import returns

router = APIRouter(prefix=PATH + "/station", include_in_schema=False)
STATION = PATH + "/station"


async def _scanned(request: Request, scan: str) -> ReturnView | None:
    """The return a scan names: by its parcel's tracking number, else by its id."""
    async with request.app.state.database.sessions() as session:
        return_id = await returns.find_by_tracking_number(session, scan) or scan
        return await returns.get_return(session, return_id)


async def _station(
    request: Request,
    user: ConsoleUser,
    scan: str = "",
    view: ReturnView | None = None,
    grades: dict[str, Grade] | None = None,
    problem: Problem | None = None,
    inspected: str = "",
) -> HTMLResponse:
    return await render(
        request,
        user,
        "station.html",
        problem.status if problem else 200,
        section="station",
        scan=scan,
        view=view,
        refusal=inspection_refusal(view) if view else None,
        grades=grades or {},
        conditions=CONDITIONS,
        dispositions=DISPOSITIONS,
        problem=problem,
        inspected=inspected,
    )


@router.get("", response_class=HTMLResponse)
async def station(
    request: Request,
    user: SignedInUser,
    scan: Annotated[str, Query(max_length=200)] = "",
    inspected: Annotated[str, Query(max_length=64)] = "",
) -> HTMLResponse:
    scan = scan.strip()
    view = await _scanned(request, scan) if scan else None
    # The notice names the return just inspected only if it is: a link cannot make the station say otherwise.
    last = await stored_return(request, inspected) if inspected else None
    confirmed = last.id if last and inspection_refusal(last) == "already_inspected" else ""
    return await _station(request, user, scan, view, inspected=confirmed)


@router.post("/{return_id}/inspection")
async def inspect(request: Request, user: SignedInUser, return_id: ReturnId) -> Response:
    view = await stored_return(request, return_id)
    if view is None:
        return await _station(request, user, return_id)
    grades = grades_from(await request.form(), view.lines)
    try:
        inspection = inspection_from(grades, view.lines)
        await inspect_return(temporal(request), request.app.state.database, user.caller, return_id, inspection)
    except Problem as problem:
        # The return as it is now (it may have moved on), the grades as the operator chose them.
        return await _station(request, user, return_id, await stored_return(request, return_id), grades, problem)
    return RedirectResponse(f"{STATION}?inspected={return_id}", status_code=303)
