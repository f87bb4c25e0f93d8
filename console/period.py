"""The period a manager picks on the dashboard: the last 7, 30 or 90 days, or from one date to another.

Dates are whole UTC days, both ends included (``to`` = 2026-03-31 reads up to the end of that
day). What is left open follows the API (``api.metrics_reading.open_period``): the period ends
now and spans the default number of days. Whether the metrics take the period (its order, its
length) is theirs to say, when they are read.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from api.metrics_reading import DEFAULT_DAYS, open_period
from api.problems import Problem

PRESET_DAYS = (7, 30, 90)


@dataclass(frozen=True)
class PeriodForm:
    """The chooser as the operator filled it in (kept as typed, to show it again when it is refused)."""

    days: str = ""
    start_date: str = ""
    end_date: str = ""

    @property
    def by_dates(self) -> bool:
        return bool(self.start_date or self.end_date)

    @property
    def preset_days(self) -> int | None:
        """The span picked (the default when nothing is); None when dates are picked or ``days`` is no preset."""
        if self.by_dates:
            return None
        if not self.days:
            return DEFAULT_DAYS
        return int(self.days) if self.days.isdigit() and int(self.days) in PRESET_DAYS else None

    def bounds(self) -> tuple[datetime, datetime]:
        """The period's start and end; a ``Problem`` when a date is no date or ``days`` no preset."""
        if self.by_dates:
            start = _day_start("from", self.start_date, 0) if self.start_date else None
            end = _day_start("to", self.end_date, 1) if self.end_date else None
            return open_period(start, end)
        if self.preset_days is None:
            message = "days must be one of " + ", ".join(map(str, PRESET_DAYS))
            raise Problem(422, message, [{"field": "days", "code": "invalid", "message": message}])
        return open_period(None, None, days=self.preset_days)


def _day_start(field: str, text: str, days_later: int) -> datetime:
    """Midnight UTC at the start of the day ``text`` names, or of the day ``days_later`` after it."""
    try:
        return datetime.combine(date.fromisoformat(text) + timedelta(days=days_later), time(), UTC)
    except (ValueError, OverflowError):
        message = f"{field} is not a date (YYYY-MM-DD): {text[:40]}"
        raise Problem(422, message, [{"field": field, "code": "invalid_date", "message": message}]) from None
