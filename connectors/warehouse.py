"""Warehouse connector: tell the warehouse what came back and what happens to each line."""

from typing import Protocol

import httpx
from pydantic import BaseModel, Field

from connectors.http import PartnerHttp, parse_result


class IntakeLine(BaseModel):
    sku: str = Field(min_length=1)
    quantity: int = Field(ge=1)
    disposition: str = Field(min_length=1, description="restock, refurbish, liquidate, dispose, return_to_customer")
    condition: str = Field(min_length=1, description="as_new, opened, damaged, not_as_described, missing")


class IntakeRequest(BaseModel):
    idempotency_key: str = Field(min_length=1)
    reference: str = Field(min_length=1, description="The return's id.")
    lines: list[IntakeLine] = Field(min_length=1)


class IntakeResult(BaseModel):
    intake_id: str


class InterceptRequest(BaseModel):
    idempotency_key: str = Field(min_length=1)
    reference: str = Field(min_length=1, description="The return's id.")
    order_id: str


class Warehouse(Protocol):
    async def intake(self, request: IntakeRequest) -> IntakeResult: ...

    async def intercept(self, request: InterceptRequest) -> None:
        """Stop an unshipped order; ``PartnerRejected`` when it has already left."""


class HttpWarehouse:
    """``POST {base}/warehouse/intakes``."""

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._http = PartnerHttp("warehouse", client, base_url)

    async def intake(self, request: IntakeRequest) -> IntakeResult:
        body = await self._http.call("POST", "/warehouse/intakes", json=request.model_dump(mode="json"))
        return parse_result("warehouse", IntakeResult, body)

    async def intercept(self, request: InterceptRequest) -> None:
        await self._http.call("POST", "/warehouse/intercepts", json=request.model_dump(mode="json"))
