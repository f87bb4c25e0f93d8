"""The audit trail's name for an API caller: its role and id (the routes write one entry per act)."""

from api.auth import Caller
from store.audit import Actor


def actor_of(caller: Caller) -> Actor:
    """The caller as the audit trail names it: a key's id for services and operators, a customer's id."""
    if caller.role == "customer":
        return Actor(role="customer", id=caller.customer_id or "")
    if caller.role == "carrier":
        return Actor(role="system", id="carrier")
    return Actor(role=caller.role, id=caller.key_id)
