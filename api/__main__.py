"""Run the API alone: ``python -m api`` (what the dev stack, the image and the Kubernetes example run).

It listens on ``RETURNFLOW_API_HOST``:``RETURNFLOW_API_PORT`` and logs as every other process does
(``returnflow/logging.py``): uvicorn's own lines go through structlog, and the access log is the
app's ``request`` line (method, path, status, duration, request id), so uvicorn's is left off.
It serves from ``RETURNFLOW_API_PROCESSES`` processes on that one port (uvicorn's supervisor, which
restarts any that dies; each process listens on a socket of its own, ``api/processes.py``), each on
uvloop and httptools, which uvicorn picks when they are installed.
``uvicorn api.app:create_app --factory`` works too, for uvicorn's other options (``--proxy-headers``).
"""

from typing import Any

import uvicorn

from api.processes import serve_in_processes
from returnflow.logging import configure_logging
from returnflow.process_exit import exit_without_teardown
from returnflow.settings import get_settings


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)  # before the app loads: its failure is a JSON line too
    options: dict[str, Any] = {
        "factory": True,
        "host": settings.api_host,
        "port": settings.api_port,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": settings.api_graceful_shutdown_seconds,
    }
    if settings.api_processes > 1:
        serve_in_processes(uvicorn.Config("api.app:create_app", workers=settings.api_processes, **options))
    else:
        uvicorn.run("api.app:create_app", **options)
    exit_without_teardown(0)  # uvicorn has stopped cleanly; its Temporal client must not turn that into SIGABRT


if __name__ == "__main__":
    main()
