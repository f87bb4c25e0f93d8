"""Fulfilment connector for virtual goods: revoke an entitlement (licence, course access, voucher)."""

from typing import Protocol

import httpx
from pydantic import BaseModel, Field

from connectors.http import PartnerHttp


class Revocation(BaseModel):
    idempotency_key: str = Field(min_length=1)
    reference: str = Field(min_length=1, description="The return's id.")
    order_id: str
    line_id: str
    sku: str
    quantity: int = Field(ge=1)


class Fulfilment(Protocol):
    async def revoke(self, revocation: Revocation) -> None: ...


class HttpFulfilment:
    """``POST {base}/fulfilment/revocations``."""

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._http = PartnerHttp("fulfilment", client, base_url)

    async def revoke(self, revocation: Revocation) -> None:
        await self._http.call("POST", "/fulfilment/revocations", json=revocation.model_dump(mode="json"))
