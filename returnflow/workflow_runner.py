"""The worker's workflow runner: Temporal's sandbox, with the snippets it runs compiled once.

The SDK's sandbox enters a run by ``exec()`` of a short, fixed piece of source: for each activation, and
for each payload sequence it encodes or decodes, to ask the run for the command's serialization context
(several per activation). ``exec()`` of a string compiles it every time; under the bench's load that
compile was 9% of the return worker's CPU (py-spy, GIL samples), its largest single item. The snippets
are the same few strings every time, so they are compiled once per process here and the code objects
reused: what runs, and in which globals, is unchanged.

Nor does it enter the sandbox for a serialization context when the data converter has no use for one:
the SDK asks the run for the context of each payload sequence it encodes or decodes (the converter may
encode differently per workflow or activity), and entering the sandbox for it, with its importer's
restrictions applied and lifted, was 7% of the return worker's CPU. Our converter (pydantic JSON and the
encryption codec, returnflow/temporal.py) encodes the same whatever the context, so the answer is "none".

This leans on the sandbox's private ``_Instance._run_code(code, **extra_globals)`` (temporalio is pinned in
uv.lock); tests/test_workflow_runner.py fails when an SDK update changes it, and the runner then goes back
to being a plain ``SandboxedWorkflowRunner``.
"""

import functools
from dataclasses import dataclass
from types import CodeType
from typing import Any

from temporalio.converter import DataConverter, SerializationContext, WorkflowSerializationContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker._command_aware_visitor import CommandInfo
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance


@functools.lru_cache(maxsize=64)
def compiled_snippet(source: str) -> CodeType:
    """The sandbox's snippet ``source`` compiled (once: there are a handful, one per kind of call)."""
    return compile(source, "<temporal sandbox>", "exec")


def ignores_serialization_context(converter: DataConverter) -> bool:
    """Whether ``converter`` encodes alike in every serialization context: none of its parts takes one (the
    SDK's ``with_context`` then answers the converter itself) and it stores no payloads outside Temporal."""
    probe = WorkflowSerializationContext(namespace="", workflow_id="")
    return converter.external_storage is None and converter.with_context(probe) is converter


class _CompiledSnippetsInstance(_Instance):
    def __init__(self, *args: Any, context_free: bool) -> None:
        super().__init__(*args)
        self._context_free = context_free

    def _run_code(self, code: str, **extra_globals: Any) -> None:
        # exec() takes a code object as it takes a string.
        super()._run_code(compiled_snippet(code), **extra_globals)  # type: ignore[arg-type]

    def get_serialization_context(self, command_info: CommandInfo | None) -> SerializationContext | None:
        if self._context_free:
            return None  # the SDK then encodes with the converter itself, as every context would
        return super().get_serialization_context(command_info)


@dataclass(frozen=True)
class CompiledSnippetsSandboxRunner(SandboxedWorkflowRunner):
    """``SandboxedWorkflowRunner`` whose runs enter the sandbox through compiled-once snippets, and not at all
    for a serialization context when ``context_free`` (``ignores_serialization_context`` of the worker's
    data converter)."""

    context_free: bool = False

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _CompiledSnippetsInstance(det, self.runner_class, self.restrictions, context_free=self.context_free)
