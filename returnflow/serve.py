"""Run an ASGI app on a real socket for as long as a block runs (tests, bench, the worker's operations port).

    async with serve_app(app) as base_url:
        async with httpx.AsyncClient() as client:
            await client.get(f"{base_url}/health")

The port is picked by the OS (bind to port 0) unless one is given, so parallel runs never collide.
The app's lifespan runs (startup on enter, shutdown on exit).
"""

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn


class _Server(uvicorn.Server):
    # Leave the test runner's signal handlers (Ctrl-C) alone.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serve_app(
    app: Any, host: str = "127.0.0.1", startup_timeout: float = 10.0, port: int = 0
) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on ``port`` of ``host`` (0: a free one); yields the base URL (no trailing slash)."""
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP
    # (without it every request waits ~40 ms on delayed ACKs).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_level="warning", log_config=None, timeout_graceful_shutdown=2)
    server = _Server(config)
    task = asyncio.create_task(_serve(server, sock))
    try:
        async with asyncio.timeout(startup_timeout):
            await _wait_started(server, task)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        if not task.done():
            try:
                await asyncio.wait_for(task, timeout=startup_timeout)
            except TimeoutError:
                server.force_exit = True
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        sock.close()


async def _serve(server: uvicorn.Server, sock: socket.socket) -> None:
    try:
        await server.serve(sockets=[sock])
    except SystemExit as exc:  # uvicorn exits this way when the app's startup fails
        raise RuntimeError(f"uvicorn exited with status {exc.code}") from None


async def _wait_started(server: uvicorn.Server, task: "asyncio.Task[None]") -> None:
    while not server.started:
        if task.done():
            failure = task.exception() if not task.cancelled() else None
            raise RuntimeError(f"the ASGI app did not start ({failure!r}); see the log above") from failure
        await asyncio.sleep(0.01)
