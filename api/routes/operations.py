"""``GET /metrics``, ``/health/live`` and ``/health/ready``: what Prometheus and the orchestrator ask, no credentials.

The API serves them, and so does the worker on its operations port (``operations_app``). Each
process says what being ready means for it in ``app.state.readiness``: named checks (the API: the
database and Temporal; the worker: Temporal and its polling), run together, each within
``CHECK_TIMEOUT``. Not ready is a 503 problem naming what is down, with ``Retry-After``.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Literal

from fastapi import APIRouter, FastAPI, Request, Response
from pydantic import BaseModel
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from api.problems import Problem, install_problem_handlers
from returnflow.metrics import CONTENT_TYPE, SdkMetrics, exposition

router = APIRouter(tags=["operations"])
# Asked every few seconds by Prometheus and the probes: neither logged nor traced.
OPERATIONS_PATHS = ("/metrics", "/health/live", "/health/ready")

Check = Callable[[], Awaitable[object]]
CHECK_TIMEOUT = timedelta(seconds=2)
RETRY_AFTER_SECONDS = 5


class Health(BaseModel):
    status: Literal["live", "ready"]


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format."}},
)
async def prometheus_metrics(request: Request) -> Response:
    """This process's business metrics, then the Temporal SDK's own (``returnflow/metrics.py``)."""
    return Response(await exposition(request.app.state.sdk_metrics), media_type=CONTENT_TYPE)


@router.get("/health/live")
async def live() -> Health:
    """The process is up and answering."""
    return Health(status="live")


@router.get(
    "/health/ready",
    responses={
        503: {
            "description": "Not ready: the problem's errors name what is down.",
            # The API's one problem schema (api/problems.py document_problems); the worker serves no OpenAPI.
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    },
)
async def ready(request: Request) -> Health:
    """Ready to do its work: every check of ``app.state.readiness`` passed; 503 naming the ones that did not."""
    down = await failing_checks(request.app.state.readiness)
    if down:
        raise Problem(
            503,
            "not ready: " + ", ".join(down) + " unreachable",
            [{"field": name, "code": "unreachable", "message": why} for name, why in down.items()],
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return Health(status="ready")


async def failing_checks(checks: Mapping[str, Check]) -> dict[str, str]:
    """Run ``checks`` together; the name of each one that failed or took too long, and why."""

    async def why_not(check: Check) -> str | None:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT.total_seconds()):
                await check()
        except TimeoutError:
            return f"no answer within {CHECK_TIMEOUT.total_seconds():g} s"
        except Exception as error:  # a check that fails for any reason means not ready, never a 500
            return f"{type(error).__name__}: {error}"[:300]
        return None

    answers = await asyncio.gather(*(why_not(check) for check in checks.values()))
    return {name: answer for name, answer in zip(checks, answers, strict=True) if answer is not None}


def temporal_reachable(current_client: Callable[[], Client | None]) -> Check:
    """A check that asks Temporal's frontend for its system info: cheap, and needs a working connection.

    ``current_client`` gives the process's client, ``None`` while it is still connecting (the API connects in
    the background)."""

    async def check() -> None:
        client = current_client()
        if client is None:
            raise ConnectionError("still connecting")
        await client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=CHECK_TIMEOUT)

    return check


def operations_app(readiness: Mapping[str, Check], sdk_metrics: SdkMetrics | None) -> FastAPI:
    """These three routes alone, for a process that serves nothing else (the worker)."""
    app = FastAPI(title="returnflow worker", openapi_url=None)
    install_problem_handlers(app)
    app.include_router(router)
    app.state.readiness = readiness
    app.state.sdk_metrics = sdk_metrics
    return app
