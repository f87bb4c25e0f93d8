"""What the payment provider says it paid: refunds and store credits, each with the idempotency key it was given.

Read by the daily ledger reconciliation (``ReconcileLedgerWorkflow``). Kept apart from
``connectors.payments`` (which moves money) because it only reads.
"""

from datetime import datetime
from typing import Protocol

import httpx
from pydantic import BaseModel

from connectors.errors import PartnerUnavailable
from connectors.http import PartnerHttp, parse_result


class PaidOut(BaseModel):
    """One refund or store credit the provider accepted."""

    idempotency_key: str
    amount: str
    currency: str
    reference: str | None = None
    created_at: datetime


class PaidOutPage(BaseModel):
    items: list[PaidOut]


class PaymentRecords(Protocol):
    async def refunds(self) -> list[PaidOut]: ...

    async def store_credits(self) -> list[PaidOut]: ...


class HttpPaymentRecords:
    """``GET {base}/payments/refunds`` and ``GET {base}/payments/store-credits``."""

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._http = PartnerHttp("payments", client, base_url)

    async def refunds(self) -> list[PaidOut]:
        return await self._list("/payments/refunds")

    async def store_credits(self) -> list[PaidOut]:
        return await self._list("/payments/store-credits")

    async def _list(self, path: str) -> list[PaidOut]:
        body = await self._http.call("GET", path)
        if not isinstance(body.get("items"), list):
            raise PartnerUnavailable(f"payments answered {path} without items")
        return parse_result("payments", PaidOutPage, body).items
