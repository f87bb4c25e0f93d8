"""How the console writes figures: rates as percentages, durations in hours, a dash for no data."""

NO_DATA = "—"


def percent(rate: float | None) -> str:
    """0.1234 → "12.3%"."""
    return NO_DATA if rate is None else f"{rate * 100:.1f}%"


def hours(value: float | None) -> str:
    """Hours with one decimal: 30.25 → "30.3"."""
    return NO_DATA if value is None else f"{value:.1f}"


FILTERS = {"percent": percent, "hours": hours}
