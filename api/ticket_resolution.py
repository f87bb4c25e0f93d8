"""Resolving a ticket: the one use case behind ``POST /v1/tickets/{id}/resolve`` and the console's tickets page.

A ticket of a return's attention is resolved by acting on the return (``api.attention.resolve_attention``:
the workflow carries the action out and resolves the ticket itself); while the return still waits for
one of its actions, resolving the ticket alone would change nothing, and is refused. Any other ticket
is resolved with the note, and the act audited.
"""

from temporalio.client import Client

from api.attention import resolve_attention
from api.auth import Caller
from api.problems import Problem
from connectors.carrier import Carrier
from domain.attention import AttentionAction, Resolution
from store import audit, returns, tickets
from store.db import Database
from store.tickets import TicketView


async def waiting_actions(database: Database, ticket: TicketView) -> list[AttentionAction]:
    """The actions the ticket's return waits for, when the ticket is about that wait (else none)."""
    if ticket.status != "open" or ticket.return_id is None:
        return []
    async with database.sessions() as session:
        view = await returns.get_return(session, ticket.return_id)
    if view is None or view.attention is None or view.attention.reason != ticket.kind:
        return []
    return view.attention.actions


async def resolve_ticket(
    temporal: Client,
    database: Database,
    carrier: Carrier,
    caller: Caller,
    ticket_id: str,
    note: str,
    action: AttentionAction | None = None,
    reference: str = "",
) -> TicketView:
    """Resolve the ticket with ``note``, running ``action`` on its return when one is given.

    404 for no such ticket; 409 for an action on a ticket of no return, for no action while the
    return waits for one, and for an action the return does not offer now.
    """
    async with database.sessions() as session:
        ticket = await tickets.get_ticket(session, ticket_id)
    if ticket is None:
        raise Problem(404, f"no ticket {ticket_id}")
    if action is not None:
        if ticket.return_id is None:
            raise Problem(409, "this ticket belongs to no return; resolve it without an action")
        resolution = Resolution(action=action, note=note, reference=reference)
        await resolve_attention(temporal, database, carrier, caller, ticket.return_id, resolution)
        async with database.sessions() as session:  # the workflow resolved the ticket meanwhile
            resolved = await tickets.get_ticket(session, ticket_id)
        assert resolved is not None
        return resolved
    offered = await waiting_actions(database, ticket)
    if offered:
        raise Problem(409, f"the return waits for one of its actions: give action ({', '.join(offered)})")
    async with database.transaction() as session:
        resolved = await tickets.resolve_ticket(session, ticket_id, note)
        assert resolved is not None
        await audit.record(session, caller.actor, "ticket.resolve", ticket_id, resolution=note)
    return resolved
