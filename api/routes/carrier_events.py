"""``POST /v1/carrier-events``: carrier scans, forwarded to the return as a Signal."""

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from temporalio.service import RPCError, RPCStatusCode

from api.auth import carrier_or_service
from api.deps import Session, Temporal
from api.problems import Problem
from api.workflow_calls import problem_for_rpc_error
from domain.orders import StrictModel
from domain.returns import ScanEvent
from domain.wire import Timestamp
from messages.returns import CarrierScan
from store import returns
from workflows.return_workflow import ReturnWorkflow

router = APIRouter(prefix="/v1/carrier-events", tags=["carrier"])


class CarrierEvent(StrictModel):
    tracking_number: str = Field(min_length=1, max_length=128)
    event: ScanEvent
    occurred_at: Timestamp


class CarrierEventAccepted(BaseModel):
    return_id: str
    accepted: bool
    received_at: datetime


@router.post("", status_code=202, response_model=CarrierEventAccepted, dependencies=[Depends(carrier_or_service)])
async def carrier_event(body: CarrierEvent, session: Session, temporal: Temporal) -> CarrierEventAccepted:
    """Duplicate or late scans are harmless: the return only moves forward.

    Carriers sign the raw body (``Carrier-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret,
    "<t>.<body>")>``, timestamp within 5 minutes); a service may post with its API key instead.
    A forged or stale signature is a 401 and changes nothing.
    """
    return_id = await returns.find_by_tracking_number(session, body.tracking_number)
    if return_id is None:
        raise Problem(404, f"no return ships with tracking number {body.tracking_number}")
    scan = CarrierScan(tracking_number=body.tracking_number, event=body.event, occurred_at=body.occurred_at)
    try:
        await temporal.get_workflow_handle(return_id).signal(ReturnWorkflow.carrier_scan, scan)
        accepted = True
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise problem_for_rpc_error(error) from None
        accepted = False  # the return has already ended; a late scan changes nothing
    return CarrierEventAccepted(return_id=return_id, accepted=accepted, received_at=datetime.now().astimezone())
