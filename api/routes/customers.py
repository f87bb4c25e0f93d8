"""``DELETE /v1/customers/{customer_id}/personal-data``: erasure on request (GDPR art. 17)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from api.auth import Caller, allow
from api.deps import Session
from store import audit
from store.submissions import Erasure, erase_customer

router = APIRouter(prefix="/v1/customers", tags=["customers"])


@router.delete("/{customer_id}/personal-data", response_model=Erasure)
async def erase_personal_data(
    customer_id: Annotated[str, Path(min_length=1, max_length=128)],
    session: Session,
    caller: Annotated[Caller, Depends(allow("service"))],
) -> Erasure:
    """Remove the customer's addresses, comments and evidence links.

    Orders, returns and the money ledger stay (accounting needs them); they hold
    only the customer's id. Temporal histories never held the customer's personal
    data (addresses and comments stay in the database), so there is nothing to
    erase there. Repeating the call is harmless.
    """
    erased = await erase_customer(session, customer_id)
    await audit.record(
        session,
        caller.actor,
        "customer.erase",
        f"customer:{customer_id}",
        addresses=erased.addresses_removed,
        submissions=erased.submissions_removed,
    )
    return erased
