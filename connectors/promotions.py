"""Promotions connector: give a customer a coupon (with its code) or loyalty points, at most once per key."""

from typing import Literal, Protocol

import httpx
from pydantic import BaseModel, Field

from connectors.http import PartnerHttp, parse_result
from domain.money import Amount


class PromotionRequest(BaseModel):
    idempotency_key: str = Field(min_length=1)
    customer_id: str = Field(min_length=1)
    kind: Literal["coupon", "points"]
    amount: Amount = Field(gt=0, description='A decimal string ("5.00"): the coupon\'s value, or the points.')
    currency: str = Field(min_length=3, max_length=3, description="The coupon's currency; PTS for points.")
    reference: str = Field(min_length=1, description="The return's id.")


class PromotionIssued(BaseModel):
    promotion_id: str
    code: str | None = None  # a coupon's code; points have none


class Promotions(Protocol):
    async def issue(self, request: PromotionRequest) -> PromotionIssued: ...


class HttpPromotions:
    """``POST {base}/promotions``."""

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._http = PartnerHttp("promotions", client, base_url)

    async def issue(self, request: PromotionRequest) -> PromotionIssued:
        body = await self._http.call("POST", "/promotions", json=request.model_dump(mode="json"))
        return parse_result("promotions", PromotionIssued, body)
