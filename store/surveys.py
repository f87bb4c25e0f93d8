"""Survey answers: one per ended return, and their score distribution over a period (counted in SQL)."""

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.surveys import SurveyAnswer, SurveyScores, survey_scores
from store.db import as_utc
from store.tables import SurveyAnswerRow


class AlreadyAnswered(Exception):
    """The return's survey has an answer: the table's primary key refused a second one."""


class SurveyView(BaseModel):
    return_id: str
    score: int
    comment: str
    answered_at: datetime


async def record_answer(
    session: AsyncSession, return_id: str, customer_id: str, answer: SurveyAnswer, now: datetime
) -> SurveyView:
    """Store the answer; ``AlreadyAnswered`` when the return has one (however many answers race), and then the
    caller's transaction is spoiled: let it roll back."""
    row = SurveyAnswerRow(
        return_id=return_id, customer_id=customer_id, score=answer.score, comment=answer.comment, answered_at=now
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:
        raise AlreadyAnswered(return_id) from None
    return _view(row)


async def survey_answer(session: AsyncSession, return_id: str) -> SurveyView | None:
    """The return's answer, None while it has none."""
    row = await session.get(SurveyAnswerRow, return_id)
    return _view(row) if row else None


async def score_distribution(
    session: AsyncSession, answered_from: datetime | None, answered_to: datetime | None
) -> SurveyScores:
    """How the surveys answered in ``[answered_from, answered_to)`` scored.

    The bounds are compared in UTC, as the times are stored (SQLite compares the text); the answers are
    counted per score by the database.
    """
    query = select(SurveyAnswerRow.score, func.count()).group_by(SurveyAnswerRow.score)
    if answered_from is not None:
        query = query.where(SurveyAnswerRow.answered_at >= answered_from.astimezone(UTC))
    if answered_to is not None:
        query = query.where(SurveyAnswerRow.answered_at < answered_to.astimezone(UTC))
    return survey_scores({score: count for score, count in await session.execute(query)})


def _view(row: SurveyAnswerRow) -> SurveyView:
    return SurveyView(
        return_id=row.return_id, score=row.score, comment=row.comment, answered_at=as_utc(row.answered_at)
    )
