"""Replays recorded histories against today's workflow code.

A change that would make a running return take a different path (a
non-determinism error) fails here before it reaches production. Record new
histories with ``RETURNFLOW_RECORD_HISTORIES=1 ./scripts/test tests/test_return_workflow.py
tests/test_money_paths.py -k sqlite`` (and the other tests that call ``keep_history``) and keep the
old ones: they stand for returns still running on older code. ``before-shapes/`` holds the runs started
without a shape (``workflows/shapes.py``), which ask ``workflow.patched`` and take the older paths, and
``shape-1/`` those of shape 1 (search attributes upserted at every step, even when none changed).
"""

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from returnflow.temporal import data_converter
from tests.histories_io import HISTORIES
from worker import WORKFLOWS, workflow_runner

RECORDED = sorted(HISTORIES.rglob("*.json"))
BEFORE_SHAPES = HISTORIES / "before-shapes"
SHAPE_1 = HISTORIES / "shape-1"


@pytest.mark.parametrize("folder", [HISTORIES, BEFORE_SHAPES, SHAPE_1], ids=["current", "before-shapes", "shape-1"])
def test_histories_of_every_path_are_kept(folder) -> None:
    assert {path.stem for path in folder.glob("*.json")} >= {
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


@pytest.mark.parametrize("path", RECORDED, ids=[str(p.relative_to(HISTORIES).with_suffix("")) for p in RECORDED])
async def test_recorded_history_replays(path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(
        workflows=WORKFLOWS, workflow_runner=workflow_runner(data_converter()), data_converter=data_converter()
    )
    await replayer.replay_workflow(history)
