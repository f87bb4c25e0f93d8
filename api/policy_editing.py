"""Changing the return policy: a candidate simulated on recorded returns, then published as the next version.

The use cases behind ``POST /v1/policy/simulate`` and ``PUT /v1/policy`` and the console's policy
page, so the rules live once: the precondition on the version a change was based on, the race of
two publishes at the same moment, and the audit entry that names who published.
"""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit import actor_of
from api.auth import Caller
from api.problems import Problem
from domain.policy import Policy
from domain.simulation import SimulationReport, simulate
from store import audit, policies, returns

# How many recorded returns one simulation reads at most (the newest of the period).
SIMULATION_LIMIT = 5000


class PolicyMovedOn(Exception):
    """The policy is no longer at the version the change was based on; nothing was published."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the policy is at version {current}")
        self.current = current


async def simulate_candidate(
    session: AsyncSession,
    candidate: Policy,
    created_from: datetime | None,
    created_to: datetime | None,
    sample_size: int,
) -> SimulationReport:
    """What ``candidate`` would have decided for the returns recorded in the period; nothing is written."""
    recorded = await returns.recorded_returns(session, created_from, created_to, SIMULATION_LIMIT)
    return simulate(recorded, candidate, sample_size)


async def publish_policy(
    session: AsyncSession, caller: Caller, policy: Policy, based_on: Callable[[int], bool] | None = None
) -> int:
    """Store ``policy`` as the next version and audit it with ``caller``; the new version.

    ``based_on`` tells whether the current version is one the change was made from: when it says
    no, ``PolicyMovedOn`` and nothing changes (two editors never overwrite each other unknowingly).
    Without it, the change applies over whatever is current.
    """
    current, _ = await policies.current_policy(session)
    if based_on is not None and not based_on(current):
        raise PolicyMovedOn(current)
    try:
        version = await policies.save_policy(session, policy)
        await session.flush()
    except IntegrityError:
        # Two publishes took the same version number; the database kept the other one.
        if based_on is not None:
            raise PolicyMovedOn(current + 1) from None
        raise Problem(409, "another policy version was published at the same moment; fetch it and retry") from None
    await audit.record(session, actor_of(caller), "policy.publish", f"policy:{version}", previous_version=current)
    return version
