"""``GET /v1/metrics/returns``: how returns are going, overall and by category."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import allow
from api.deps import Session
from api.metrics_period import metrics_period
from api.query import Timestamp
from domain.metrics import ReturnMetrics
from store.metrics import return_metrics

router = APIRouter(prefix="/v1/metrics", tags=["metrics"])


@router.get("/returns", response_model=ReturnMetrics, dependencies=[Depends(allow("service", "operator"))])
async def metrics(
    session: Session,
    start: Annotated[
        Timestamp | None, Query(alias="from", description="Start of the period; before `to` (else 422 invalid_range).")
    ] = None,
    end: Annotated[Timestamp | None, Query(alias="to", description="End of the period; after `from`.")] = None,
) -> ReturnMetrics:
    """Return rate, reasons, time to refund (p50/p90, hours), dispute and auto-approval rates.

    ``from``/``to`` default to the last 30 days; ``from`` must be before ``to`` (422 ``invalid_range``).
    """
    start, end = metrics_period(start, end)
    return await return_metrics(session, start, end)
