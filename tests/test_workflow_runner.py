"""The worker's sandbox enters runs through snippets compiled once (returnflow/workflow_runner.py)."""

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from returnflow.temporal import data_converter
from returnflow.workflow_runner import compiled_snippet
from tests.histories_io import HISTORIES
from worker import WORKFLOW_RUNNER, WORKFLOWS


async def test_returns_run_on_snippets_compiled_once() -> None:
    """Fails when an SDK update stops calling ``_Instance._run_code`` the way the runner expects: then no
    snippet goes through the cache and the runner should become a plain ``SandboxedWorkflowRunner``."""
    history_file = HISTORIES / "completed.json"
    history = WorkflowHistory.from_json(history_file.stem, history_file.read_text())
    replayer = Replayer(workflows=WORKFLOWS, workflow_runner=WORKFLOW_RUNNER, data_converter=data_converter())
    await replayer.replay_workflow(history)
    compiled_after_one_return = compiled_snippet.cache_info()

    await replayer.replay_workflow(history)

    usage = compiled_snippet.cache_info()
    assert compiled_after_one_return.hits > 0
    assert usage.misses == compiled_after_one_return.misses, "a second return compiles nothing"
    assert usage.hits > compiled_after_one_return.hits
