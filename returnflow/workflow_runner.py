"""The worker's workflow runner: Temporal's sandbox, with the snippets it runs compiled once.

The SDK's sandbox enters a run by ``exec()`` of a short, fixed piece of source: for each activation, and
for each payload sequence it encodes or decodes, to ask the run for the command's serialization context
(several per activation). ``exec()`` of a string compiles it every time; under the bench's load that
compile was 9% of the return worker's CPU (py-spy, GIL samples), its largest single item. The snippets
are the same few strings every time, so they are compiled once per process here and the code objects
reused: what runs, and in which globals, is unchanged.

This leans on the sandbox's private ``_Instance._run_code(code, **extra_globals)`` (temporalio is pinned in
uv.lock); tests/test_workflow_runner.py fails when an SDK update changes it, and the runner then goes back
to being a plain ``SandboxedWorkflowRunner``.
"""

import functools
from types import CodeType
from typing import Any

from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance


@functools.lru_cache(maxsize=64)
def compiled_snippet(source: str) -> CodeType:
    """The sandbox's snippet ``source`` compiled (once: there are a handful, one per kind of call)."""
    return compile(source, "<temporal sandbox>", "exec")


class _CompiledSnippetsInstance(_Instance):
    def _run_code(self, code: str, **extra_globals: Any) -> None:
        # exec() takes a code object as it takes a string.
        super()._run_code(compiled_snippet(code), **extra_globals)  # type: ignore[arg-type]


class CompiledSnippetsSandboxRunner(SandboxedWorkflowRunner):
    """``SandboxedWorkflowRunner`` whose runs enter the sandbox through compiled-once snippets."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _CompiledSnippetsInstance(det, self.runner_class, self.restrictions)
