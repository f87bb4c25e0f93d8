"""The period a metrics read covers, for the API and the console alike."""

from datetime import UTC, datetime, timedelta

from api.problems import Problem

DEFAULT_DAYS = 30


def metrics_period(start: datetime | None, end: datetime | None, days: int = DEFAULT_DAYS) -> tuple[datetime, datetime]:
    """``end`` defaults to now and ``start`` to ``days`` before ``end``; ``start`` must be before ``end``
    (else 422 ``invalid_range``)."""
    end = end or datetime.now(UTC)
    start = start or end - timedelta(days=days)
    if start >= end:
        message = "from must be before to"
        raise Problem(422, message, [{"field": "from", "code": "invalid_range", "message": message}])
    return start, end
