"""``POST /v1/customer-sessions``: a short-lived token with which a customer acts on its own returns."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.auth import Caller, allow, mint_customer_token, session_secret
from api.deps import AppSettings
from domain.orders import Identifier, StrictModel

router = APIRouter(prefix="/v1/customer-sessions", tags=["customers"])


class CustomerSessionRequest(StrictModel):
    customer_id: str = Identifier


class CustomerSession(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>`; `rfc_…`.")
    expires_at: datetime


@router.post("", status_code=201, response_model=CustomerSession)
async def create_customer_session(
    body: CustomerSessionRequest, settings: AppSettings, _caller: Annotated[Caller, Depends(allow("service"))]
) -> CustomerSession:
    """A token for one customer, valid ``RETURNFLOW_SESSION_TTL_MINUTES`` (15 by default).

    With it the customer may preview, create, read, cancel, urge and dispute its own
    returns and read its own orders; another customer's are answered 404. The storefront
    (a service) asks for one after it has signed the customer in.
    """
    token, expires_at = mint_customer_token(
        session_secret(settings), body.customer_id, settings.session_ttl_minutes * 60
    )
    return CustomerSession(token=token, expires_at=expires_at)
