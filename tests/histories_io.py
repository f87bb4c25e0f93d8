"""Recording workflow histories for the replay tests (tests/test_replay.py)."""

import os
from pathlib import Path

from temporalio.client import WorkflowHandle

HISTORIES = Path(__file__).parent / "histories"


async def keep_history(handle: WorkflowHandle, name: str) -> None:
    """With RETURNFLOW_RECORD_HISTORIES=1, save the run's history under ``name`` for the replay tests."""
    if os.environ.get("RETURNFLOW_RECORD_HISTORIES") == "1":
        HISTORIES.mkdir(exist_ok=True)
        (HISTORIES / f"{name}.json").write_text((await handle.fetch_history()).to_json())
