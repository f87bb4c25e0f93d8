"""``DELETE /v1/customers/{customer_id}/personal-data``: erasure on request (GDPR art. 17)."""

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from api.auth import Caller, allow
from api.deps import Session
from store import audit
from store.submissions import Erasure, erase_customer

router = APIRouter(prefix="/v1/customers", tags=["customers"])
# The audit trail's subject column holds 128 characters.
SUBJECT_LENGTH = 128


def audit_subject(customer_id: str) -> str:
    """``customer:<id>``; for an id too long for the column, its start and a digest (the details keep it whole)."""
    subject = f"customer:{customer_id}"
    if len(subject) <= SUBJECT_LENGTH:
        return subject
    digest = hashlib.sha256(customer_id.encode()).hexdigest()[:16]
    return f"{subject[: SUBJECT_LENGTH - len(digest) - 1]}~{digest}"


@router.delete("/{customer_id}/personal-data", response_model=Erasure)
async def erase_personal_data(
    customer_id: Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")],
    session: Session,
    request: Request,
    caller: Annotated[Caller, Depends(allow("service"))],
) -> Erasure:
    """Remove the customer's addresses, comments, evidence links and uploaded evidence photos.

    Orders, returns and the money ledger stay (accounting needs them); they hold
    only the customer's id. Temporal histories never held the customer's personal
    data (addresses and comments stay in the database), so there is nothing to
    erase there. Repeating the call is harmless.
    """
    erased = await erase_customer(session, customer_id)
    for evidence_id in erased.erased_evidence_ids:
        await request.app.state.evidence_files.delete(evidence_id)
    await audit.record(
        session,
        caller.actor,
        "customer.erase",
        audit_subject(customer_id),
        customer_id=customer_id,
        addresses=erased.addresses_removed,
        submissions=erased.submissions_removed,
        evidence=erased.evidence_removed,
    )
    return erased
