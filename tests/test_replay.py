"""Replays recorded histories against today's workflow code.

A change that would make a running return take a different path (a
non-determinism error) fails here before it reaches production. Record new
histories with ``RETURNFLOW_RECORD_HISTORIES=1 ./scripts/test tests/test_return_workflow.py
tests/test_money_paths.py -k sqlite`` and keep the old ones (``*-before-ledger``): they stand for
returns still running on older code.
"""

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from returnflow.temporal import data_converter
from tests.histories_io import HISTORIES
from worker import WORKFLOWS

RECORDED = sorted(HISTORIES.glob("*.json"))


def test_histories_of_every_path_are_kept() -> None:
    assert {path.stem for path in RECORDED} >= {
        "completed",
        "canceled",
        "expired",
        "rejected",
        "refund-only",
        "cancellation",
        "exchange",
        "store-credit-fallback",
        "refund-failed-retried",
        "compensation-failed-retried",
        "transit-overdue-lost",
        "every-escalation",
        "refund-with-tax-and-shipping",
        "tender-claim-released",
        "instant-exchange-released",
        "instant-exchange-captured",
        "exchange-price-difference-refunded",
        "urged-review",
        "urged-in-transit",
        "review-overdue-compensated",
        "completed-with-summaries",
    }


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
async def test_recorded_history_replays(path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(workflows=WORKFLOWS, data_converter=data_converter())
    await replayer.replay_workflow(history)
