"""Resolving a return's attention: the one use case behind ``POST /v1/returns/{id}/resolve`` and
``POST /v1/tickets/{id}/resolve`` (with an action), so both faces run the same workflow update.

The workflow carries the action out and resolves the attention's ticket itself. A missed pickup's new
slot is checked against the carrier's offer first, as a new return's is.
"""

from datetime import UTC, datetime

from temporalio.client import Client

from api.auth import Caller
from api.pickup_slots import refuse_unoffered_rebooking
from api.workflow_calls import update_return
from connectors.carrier import Carrier
from domain.attention import Resolution
from domain.returns import ReturnView
from store import audit
from store.db import Database
from workflows.return_workflow import ReturnWorkflow


async def resolve_attention(
    temporal: Client, database: Database, carrier: Carrier, caller: Caller, return_id: str, resolution: Resolution
) -> ReturnView:
    """Carry out ``resolution`` on the return (409 when it is not offered now, 422 for a rebooked pickup slot
    the carrier does not offer); audited with its actor."""
    await refuse_unoffered_rebooking(carrier, database, return_id, resolution, datetime.now(UTC))
    view = await update_return(temporal, return_id, ReturnWorkflow.resolve, resolution)
    async with database.transaction() as session:
        await audit.record(
            session,
            caller.actor,
            "return.resolve",
            return_id,
            chosen_action=resolution.action,
            note=resolution.note,
            reference=resolution.reference,
        )
    return view
