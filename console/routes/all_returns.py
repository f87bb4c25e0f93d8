"""Every return, newest first, with filters and a search box that takes any id (store/returns.list_returns)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api.problems import Problem
from console.listing import Cursor, list_page, paging, stale_cursor
from console.sessions import SignedInUser
from domain.returns import Status
from store.cursor import BadCursor
from store.returns import ReturnFilter, list_returns

router = APIRouter(prefix="/console", include_in_schema=False)
PAGE_SIZE = 50
Text = Annotated[str, Query(max_length=128)]
STATUSES = frozenset(status.value for status in Status)


@dataclass(frozen=True)
class FilterForm:
    """What the operator typed, as typed (shown again in the form), and what of it could be read."""

    q: str = ""
    order_id: str = ""
    customer_id: str = ""
    tracking_number: str = ""
    status: str = ""
    created_from: str = ""
    created_to: str = ""

    def read(self) -> tuple[ReturnFilter, list[dict[str, Any]]]:
        """The filter, and an error for each field that is not what it should be (that field is left out)."""
        errors: list[dict[str, Any]] = []
        status = self.status.strip() or None
        if status is not None and status not in STATUSES:
            errors.append({"field": "status", "message": f"there is no status {status!r}"})
            status = None
        created_from = self._day("created_from", errors)
        last_day = self._day("created_to", errors)
        return (
            ReturnFilter(
                any_id=self.q.strip() or None,
                order_id=self.order_id.strip() or None,
                customer_id=self.customer_id.strip() or None,
                tracking_number=self.tracking_number.strip() or None,
                status=status,
                created_from=created_from,
                # The form's "to" day is included: the filter's bound is the start of the day after.
                created_to=last_day + timedelta(days=1) if last_day else None,
            ),
            errors,
        )

    def _day(self, field: str, errors: list[dict[str, Any]]) -> datetime | None:
        text = str(getattr(self, field)).strip()
        if not text:
            return None
        try:
            return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
        except ValueError:
            errors.append({"field": field, "message": f"{text!r} is not a date (YYYY-MM-DD)"})
            return None


@router.get("/returns", response_class=HTMLResponse)
async def all_returns(
    request: Request,
    user: SignedInUser,
    q: Text = "",
    order_id: Text = "",
    customer_id: Text = "",
    tracking_number: Text = "",
    status: Text = "",
    created_from: Text = "",
    created_to: Text = "",
    cursor: Cursor = None,
) -> HTMLResponse:
    form = FilterForm(q, order_id, customer_id, tracking_number, status, created_from, created_to)
    where, errors = form.read()
    problem = Problem(422, "some filters could not be read and are left out", errors) if errors else None
    async with request.app.state.database.sessions() as session:
        try:
            views, next_cursor = await list_returns(session, where, PAGE_SIZE, cursor)
        except BadCursor:
            views, next_cursor = await list_returns(session, where, PAGE_SIZE, None)
            problem = stale_cursor()
    return await list_page(
        request,
        user,
        "returns/list.html",
        "returns/list_results.html",
        section="returns",
        form=form,
        statuses=list(Status),
        filtered=where != ReturnFilter(),
        views=views,
        paging=paging(request, next_cursor),
        problem=problem,
    )
