"""Reading the return metrics for a period, as the API and the console both do.

What a period left open means (it ends now and spans ``DEFAULT_DAYS``), and a period the
metrics refuse (``domain.metrics.InvalidPeriod``) answered as a 422 problem at its field.
"""

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from api.problems import Problem
from domain.metrics import InvalidPeriod, ReturnMetrics
from store.metrics import return_metrics

DEFAULT_DAYS = 30


def open_period(start: datetime | None, end: datetime | None, days: int = DEFAULT_DAYS) -> tuple[datetime, datetime]:
    """``end`` defaults to now, ``start`` to ``days`` before ``end``."""
    end = end or datetime.now(UTC)
    return start or end - timedelta(days=days), end


async def read_return_metrics(session: AsyncSession, start: datetime, end: datetime) -> ReturnMetrics:
    try:
        return await return_metrics(session, start, end)
    except InvalidPeriod as invalid:
        error = {"field": invalid.field, "code": invalid.code, "message": str(invalid)}
        raise Problem(422, str(invalid), [error]) from invalid
