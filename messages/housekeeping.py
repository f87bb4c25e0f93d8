"""The scheduled housekeeping jobs: their payloads and the activities the housekeeping workflows call.

``workflows/housekeeping.py`` calls each reference; the implementations (one module
each under ``activities/``) register under the reference's name. The names never
change: running schedules and recorded histories use them.
"""

from pydantic import BaseModel

from messages.activity_ref import ActivityRef


class Batch(BaseModel):
    """How much one activity run takes on."""

    limit: int = 100


class DeliverEvents(BaseModel):
    """Input of DeliverWebhooksWorkflow: batches of ``limit``, at most ``rounds`` of them per run."""

    limit: int = 100
    rounds: int = 10


class DeliveryReport(BaseModel):
    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0


class NotificationReport(BaseModel):
    attempted: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0


class DeliverEventsReport(BaseModel):
    webhooks: DeliveryReport
    notifications: NotificationReport


class ReconcileLedger(BaseModel):
    """Compare ledger rows written in the last ``window_hours``; a provider record with no ledger row counts
    only once it is ``grace_hours`` old (a return records its money after every part of its pay-out is done,
    and a partner call may be retried for a day)."""

    window_hours: float = 7 * 24
    grace_hours: float = 48


class ReconcileReport(BaseModel):
    ledger_rows: int = 0
    provider_records: int = 0
    mismatches: list[str] = []


class SweepStuckReturns(BaseModel):
    batch: int = 500


class SweepReport(BaseModel):
    checked: int = 0
    stuck: list[str] = []


class RepairReadModel(BaseModel):
    """``grace_seconds``: a workflow whose view changed this recently may still be writing it; left alone."""

    grace_seconds: float = 300
    batch: int = 200


class RepairReport(BaseModel):
    checked: int = 0
    repaired: list[str] = []
    ended: list[str] = []
    missing: list[str] = []


class PruneOutbox(BaseModel):
    """Deleted ``batch`` events at a time (each batch its own transaction)."""

    batch: int = 500


class PruneReport(BaseModel):
    deleted: int = 0


# POST the due webhook deliveries, signed; record delivered, retry later (backoff) or dead.
DELIVER_WEBHOOKS = ActivityRef("deliver_webhooks", Batch, DeliveryReport)
# Tell customers about the statuses they care about, through the notifications partner, best effort.
SEND_CUSTOMER_NOTIFICATIONS = ActivityRef("send_customer_notifications", Batch, NotificationReport)
# The ledger's refunds and store credits against what the payment provider lists; a difference becomes a ticket.
RECONCILE_LEDGER = ActivityRef("reconcile_ledger", ReconcileLedger, ReconcileReport)
# Returns that stayed in a status well past its SLA get an ``sla_breach`` ticket.
SWEEP_STUCK_RETURNS = ActivityRef("sweep_stuck_returns", SweepStuckReturns, SweepReport)
# Rows of the read model that disagree with their workflow are rewritten from the workflow's own view.
REPAIR_READ_MODEL = ActivityRef("repair_read_model", RepairReadModel, RepairReport)
# Events older than the retention whose webhooks and notifications are over are deleted, with them.
PRUNE_OUTBOX = ActivityRef("prune_outbox", PruneOutbox, PruneReport)
