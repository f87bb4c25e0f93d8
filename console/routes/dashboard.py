"""The dashboard: how returns are going over a period, read with the same metrics code as the API."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api.metrics_reading import read_return_metrics
from api.problems import Problem
from console.period import PRESET_DAYS, PeriodForm
from console.sessions import SignedInUser
from console.templating import render
from domain.metrics import Rates

router = APIRouter(prefix="/console", include_in_schema=False)
# The SKUs the page shows: those with the most returns (the API lists every SKU with one).
TOP_SKUS = 15


def most_returned(by_sku: dict[str, Rates], count: int = TOP_SKUS) -> list[tuple[str, Rates]]:
    """The ``count`` SKUs with the most returns, most first (then by SKU, so the order is stable)."""
    return sorted(by_sku.items(), key=lambda item: (-item[1].returns, item[0]))[:count]


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(
    request: Request,
    user: SignedInUser,
    days: str = "",
    start_date: Annotated[str, Query(alias="from")] = "",
    end_date: Annotated[str, Query(alias="to")] = "",
) -> HTMLResponse:
    form = PeriodForm(days=days, start_date=start_date, end_date=end_date)
    page: dict[str, Any] = {"section": "dashboard", "form": form, "presets": PRESET_DAYS}
    try:
        start, end = form.bounds()
        async with request.app.state.database.sessions() as session:
            metrics = await read_return_metrics(session, start, end)
    except Problem as problem:
        return await render(request, user, "dashboard.html", status_code=problem.status, problem=problem, **page)
    skus = most_returned(metrics.by_sku)
    return await render(request, user, "dashboard.html", metrics=metrics, skus=skus, start=start, end=end, **page)
