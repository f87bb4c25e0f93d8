"""The API with two test-only routes, for tests/test_json_logs.py, which runs it under uvicorn's command line:

- ``GET /test-only/crash`` fails with an unexpected exception (the API itself never should);
- ``GET /test-only/partner`` makes one partner call, through the connectors' ``PartnerHttp``, to the sandbox.
"""

from typing import Any

import httpx
from fastapi import FastAPI

from api.app import create_app
from connectors.http import PartnerHttp
from returnflow.settings import get_settings


def create_crashing_app() -> FastAPI:
    app = create_app()

    @app.get("/test-only/crash")
    async def crash() -> None:
        raise RuntimeError("a bug, on purpose")

    @app.get("/test-only/partner")
    async def partner() -> dict[str, Any]:
        async with httpx.AsyncClient() as client:
            return await PartnerHttp("sandbox", client, get_settings().sandbox_url).call("GET", "/health")

    return app
