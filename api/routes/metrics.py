"""``GET /v1/metrics/returns``: how returns are going, overall, by category, by SKU and day by day."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import allow
from api.deps import Session
from api.metrics_reading import open_period, read_return_metrics
from api.query import Timestamp
from domain.metrics import MAX_PERIOD, ReturnMetrics

router = APIRouter(prefix="/v1/metrics", tags=["metrics"])


@router.get("/returns", response_model=ReturnMetrics, dependencies=[Depends(allow("service", "operator"))])
async def metrics(
    session: Session,
    start: Annotated[
        Timestamp | None, Query(alias="from", description="Start of the period; before `to` (else 422 invalid_range).")
    ] = None,
    end: Annotated[
        Timestamp | None,
        Query(
            alias="to",
            description=f"End of the period (not included); at most {MAX_PERIOD.days} days after `from` "
            "(else 422 period_too_long).",
        ),
    ] = None,
) -> ReturnMetrics:
    """Return rate, reasons, time to refund (p50/p90, hours), dispute and auto-approval rates: for the period, by
    category, by SKU, and the main ones for each day (UTC).

    ``from``/``to`` default to the last 30 days; ``from`` must be before ``to`` (422 ``invalid_range``), and the
    period no longer than ``to`` says (422 ``period_too_long``).
    """
    start, end = open_period(start, end)
    return await read_return_metrics(session, start, end)
