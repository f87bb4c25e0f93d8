"""Leaving a process that held a Temporal client."""

import os
import sys
from typing import NoReturn

from returnflow.tracing import stop_tracing


def exit_without_teardown(code: int) -> NoReturn:
    """Exit now, skipping the interpreter's teardown.

    The Temporal client's Rust threads can outlive the interpreter and abort the process while it
    finalizes ("PyGILState_Release", temporalio/sdk-python#300): a clean stop or a clear start-up
    error would end as SIGABRT instead of its exit code. Everything is written and flushed before: the
    spans still batched (what runs at exit is skipped too), then stdout and stderr.
    """
    stop_tracing()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
