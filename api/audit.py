"""Writing the audit trail from the API: the caller as an actor (role and id), one entry per act."""

from typing import Any

from fastapi import Request

from api.auth import Caller
from store import audit
from store.audit import Actor


def actor_of(caller: Caller) -> Actor:
    """The caller as the audit trail names it: a key's id for services and operators, a customer's id."""
    if caller.role == "customer":
        return Actor(role="customer", id=caller.customer_id or "")
    if caller.role == "carrier":
        return Actor(role="system", id="carrier")
    return Actor(role=caller.role, id=caller.key_id)


async def record_act(request: Request, caller: Caller, action: str, subject: str, **details: Any) -> None:
    """Write one entry in a transaction of its own (after the act itself has succeeded)."""
    async with request.app.state.database.transaction() as session:
        await audit.record(session, actor_of(caller), action, subject, **details)
