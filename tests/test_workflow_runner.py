"""The worker's sandbox enters runs through snippets compiled once, and not for serialization contexts its
data converter has no use for (returnflow/workflow_runner.py)."""

import dataclasses
from collections.abc import Sequence
from typing import Self

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.converter import PayloadCodec, SerializationContext, WithSerializationContext
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox._runner import _Instance

from returnflow.temporal import data_converter
from returnflow.workflow_runner import compiled_snippet, ignores_serialization_context
from tests.histories_io import HISTORIES
from worker import WORKFLOWS, workflow_runner


async def test_returns_run_on_snippets_compiled_once() -> None:
    """Fails when an SDK update stops calling ``_Instance._run_code`` the way the runner expects: then no
    snippet goes through the cache and the runner should become a plain ``SandboxedWorkflowRunner``."""
    history_file = HISTORIES / "completed.json"
    history = WorkflowHistory.from_json(history_file.stem, history_file.read_text())
    replayer = Replayer(
        workflows=WORKFLOWS, workflow_runner=workflow_runner(data_converter()), data_converter=data_converter()
    )
    await replayer.replay_workflow(history)
    compiled_after_one_return = compiled_snippet.cache_info()

    await replayer.replay_workflow(history)

    usage = compiled_snippet.cache_info()
    assert compiled_after_one_return.hits > 0
    assert usage.misses == compiled_after_one_return.misses, "a second return compiles nothing"
    assert usage.hits > compiled_after_one_return.hits


class PerWorkflowCodec(PayloadCodec, WithSerializationContext):
    """A codec that would encode each workflow's payloads differently (a key per workflow, say)."""

    def with_context(self, context: SerializationContext) -> Self:
        return type(self)()

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)


def test_only_a_converter_that_encodes_alike_in_every_context_skips_asking_for_one() -> None:
    assert ignores_serialization_context(data_converter())
    assert not ignores_serialization_context(dataclasses.replace(data_converter(), payload_codec=PerWorkflowCodec()))


async def test_a_return_replays_without_entering_the_sandbox_for_a_serialization_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("the sandbox was entered for a serialization context")

    monkeypatch.setattr(_Instance, "get_serialization_context", refuse)
    history_file = HISTORIES / "completed.json"
    history = WorkflowHistory.from_json(history_file.stem, history_file.read_text())
    converter = data_converter()
    await Replayer(
        workflows=WORKFLOWS, workflow_runner=workflow_runner(converter), data_converter=converter
    ).replay_workflow(history)
