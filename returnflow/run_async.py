"""Running a coroutine from synchronous code (the CLI, the stack's readiness checks)."""

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a fresh loop without touching the thread's current loop.

    Unlike ``asyncio.run`` this leaves ``asyncio.get_event_loop()`` alone, so the CLI can
    be called from sync tests that share a process with pytest-asyncio's loop.
    """
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
