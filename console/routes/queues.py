"""The queues operators work from: waiting for review, needing attention, received and waiting for inspection.

Each is one status of the read model, most urgent first (store/queues.py), a page at a time.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, get_args

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from api.problems import Problem
from console.listing import Cursor, list_page, paging, stale_cursor
from console.sessions import SignedInUser
from domain.attention import AttentionReason
from domain.queues import return_value, review_deadline, status_since, time_left
from domain.returns import ReturnView
from store.cursor import BadCursor
from store.policies import policy_version
from store.queues import attention_reason_counts, queue_page

router = APIRouter(prefix="/console/queues", include_in_schema=False)
PAGE_SIZE = 50
ATTENTION_REASONS: tuple[str, ...] = get_args(AttentionReason)


@dataclass(frozen=True)
class Waiting:
    """A return in a queue, with what the queue shows beside it."""

    view: ReturnView
    since: datetime
    waited: timedelta


@dataclass(frozen=True)
class UnderReview(Waiting):
    value: Decimal
    deadline: datetime
    left: timedelta


async def _page(
    session: AsyncSession, queue: str, cursor: str | None, attention_reason: str | None = None
) -> tuple[list[ReturnView], str | None, Problem | None]:
    """A page of ``queue``; the first one, with a problem to show, when the cursor is not one handed out."""
    try:
        views, next_cursor = await queue_page(session, queue, PAGE_SIZE, cursor, attention_reason)
    except BadCursor:
        views, next_cursor = await queue_page(session, queue, PAGE_SIZE, None, attention_reason)
        return views, next_cursor, stale_cursor()
    return views, next_cursor, None


def _waiting(view: ReturnView, now: datetime) -> Waiting:
    since = status_since(view)
    return Waiting(view=view, since=since, waited=now - since)


@router.get("/review", response_class=HTMLResponse)
async def review_queue(request: Request, user: SignedInUser, cursor: Cursor = None) -> HTMLResponse:
    """Returns waiting for a reviewer: urged first, then by SLA deadline, each with its time left."""
    now = datetime.now(UTC)
    async with request.app.state.database.sessions() as session:
        views, next_cursor, problem = await _page(session, "review", cursor)
        policies = {version: await policy_version(session, version) for version in {v.policy_version for v in views}}
    rows = []
    for view in views:
        since, deadline = status_since(view), review_deadline(view, policies[view.policy_version])
        rows.append(
            UnderReview(
                view=view,
                since=since,
                waited=now - since,
                value=return_value(view),
                deadline=deadline,
                left=time_left(deadline, now),
            )
        )
    return await list_page(
        request,
        user,
        "queues/review.html",
        "queues/review_list.html",
        section="review",
        rows=rows,
        paging=paging(request, next_cursor),
        problem=problem,
    )


@router.get("/attention", response_class=HTMLResponse)
async def attention_queue(
    request: Request,
    user: SignedInUser,
    reason: Annotated[str | None, Query(max_length=32)] = None,
    cursor: Cursor = None,
) -> HTMLResponse:
    """Returns a person must act on, oldest first, narrowed to one reason if asked; each with its actions."""
    now = datetime.now(UTC)
    chosen = reason if reason in ATTENTION_REASONS else None
    async with request.app.state.database.sessions() as session:
        views, next_cursor, problem = await _page(session, "attention", cursor, chosen)
        per_reason = await attention_reason_counts(session)
    if reason and chosen is None:
        problem = Problem(422, f"there is no attention reason {reason!r}; every reason is shown")
    return await list_page(
        request,
        user,
        "queues/attention.html",
        "queues/attention_list.html",
        section="attention",
        rows=[_waiting(view, now) for view in views],
        reasons=[(code, per_reason.get(code, 0)) for code in ATTENTION_REASONS],
        chosen=chosen,
        paging=paging(request, next_cursor),
        problem=problem,
    )


@router.get("/inspection", response_class=HTMLResponse)
async def inspection_queue(request: Request, user: SignedInUser, cursor: Cursor = None) -> HTMLResponse:
    """Parcels received and waiting for inspection, urged first, then the oldest."""
    now = datetime.now(UTC)
    async with request.app.state.database.sessions() as session:
        views, next_cursor, problem = await _page(session, "inspection", cursor)
    return await list_page(
        request,
        user,
        "queues/inspection.html",
        "queues/inspection_list.html",
        section="inspection",
        rows=[_waiting(view, now) for view in views],
        paging=paging(request, next_cursor),
        problem=problem,
    )
