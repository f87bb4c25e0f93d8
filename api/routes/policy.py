"""The return policy: read it, publish a new version, simulate a candidate."""

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from api.auth import Caller, allow
from api.deps import Session
from api.problems import Problem
from api.query import Timestamp
from domain.orders import StrictModel
from domain.policy import Policy
from domain.simulation import SimulationReport, simulate
from store import audit, policies, returns

router = APIRouter(prefix="/v1/policy", tags=["policy"])

# How many recorded returns one simulation reads at most.
SIMULATION_LIMIT = 5000


class PolicyVersionOut(BaseModel):
    version: int
    policy: Policy


class SimulationRequest(StrictModel):
    policy: Policy
    created_from: Timestamp | None = Field(None, alias="from")
    created_to: Timestamp | None = Field(None, alias="to")
    sample_size: int = Field(10, ge=0, le=100)


@router.get("", response_model=PolicyVersionOut, dependencies=[Depends(allow("service", "operator"))])
async def get_policy(session: Session) -> PolicyVersionOut:
    version, policy = await policies.current_policy(session)
    return PolicyVersionOut(version=version, policy=policy)


@router.put("", response_model=PolicyVersionOut)
async def put_policy(
    body: Policy, session: Session, caller: Annotated[Caller, Depends(allow("service"))]
) -> PolicyVersionOut:
    """Publish ``body`` as the next version. Running returns keep the version they started with."""
    try:
        version = await policies.save_policy(session, body)
        await session.flush()
    except IntegrityError:
        # Two publishes took the same version number; the database kept the first.
        raise Problem(409, "another policy version was published at the same moment; fetch it and retry") from None
    await audit.record(session, caller.actor, "policy.publish", f"policy:{version}")
    return PolicyVersionOut(version=version, policy=body)


@router.post("/simulate", response_model=SimulationReport, dependencies=[Depends(allow("service", "operator"))])
async def simulate_policy(body: SimulationRequest, session: Session) -> SimulationReport:
    """Judge the returns of a period under a candidate policy; nothing is written.

    Reports how many decisions change and how (``auto_approved→needs_review``,
    ``auto_approved→ineligible``, …), refund and fee totals before and after per
    currency, and a sample of the returns that change.
    """
    recorded = await returns.recorded_returns(session, body.created_from, body.created_to, SIMULATION_LIMIT)
    return simulate(recorded, body.policy, body.sample_size)
