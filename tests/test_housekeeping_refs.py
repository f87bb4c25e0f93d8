"""Every housekeeping ActivityRef (messages/housekeeping.py) has one implementation under its name, with its types."""

import typing
from typing import Any

from activities.customer_notifications import CustomerNotifier
from activities.drift_repair import ReadModelRepairer
from activities.reconciliation import LedgerReconciler
from activities.stuck_returns import StuckReturnSweeper
from activities.webhooks import WebhookSender
from messages import housekeeping as hk
from messages.activity_ref import ActivityRef

IMPLEMENTATIONS: list[tuple[ActivityRef[Any, Any], Any]] = [
    (hk.DELIVER_WEBHOOKS, WebhookSender.deliver_webhooks),
    (hk.SEND_CUSTOMER_NOTIFICATIONS, CustomerNotifier.send_customer_notifications),
    (hk.RECONCILE_LEDGER, LedgerReconciler.reconcile_ledger),
    (hk.SWEEP_STUCK_RETURNS, StuckReturnSweeper.sweep_stuck_returns),
    (hk.REPAIR_READ_MODEL, ReadModelRepairer.repair_read_model),
]


def test_every_reference_is_implemented_under_its_name_with_its_types() -> None:
    refs = [value for value in vars(hk).values() if isinstance(value, ActivityRef)]
    assert sorted(ref.name for ref in refs) == sorted(ref.name for ref, _ in IMPLEMENTATIONS)
    for ref, implementation in IMPLEMENTATIONS:
        assert implementation.__temporal_activity_definition.name == ref.name
        hints = typing.get_type_hints(implementation)
        result = hints.pop("return")
        assert list(hints.values()) == [ref.arg_type] and result is ref.result_type, ref.name


def test_the_names_stay_what_running_schedules_and_histories_use() -> None:
    assert [ref.name for ref, _ in IMPLEMENTATIONS] == [
        "deliver_webhooks",
        "send_customer_notifications",
        "reconcile_ledger",
        "sweep_stuck_returns",
        "repair_read_model",
    ]
