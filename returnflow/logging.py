"""structlog set-up shared by the API, the worker, the sandbox and the CLI.

Logs are JSON lines unless they go to a terminal, where they are pretty. Context
such as ``return_id``, ``workflow_id`` and ``activity`` is bound with
``structlog.contextvars`` by the code that knows it (the activity interceptor,
the API routes) and appears on every line logged while it is bound.
"""

import logging
import sys

import structlog

QUIET_DRIVERS = ("aiosqlite", "asyncpg", "sqlalchemy.engine")


def configure_logging(level: str = "INFO", fmt: str = "auto") -> None:
    pretty = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer: structlog.types.Processor = (
        structlog.dev.ConsoleRenderer() if pretty else structlog.processors.JSONRenderer()
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    # Route the standard library's records (uvicorn, temporalio, alembic) through the same renderer.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Database drivers log statements with their parameters (customers' details included) at INFO and DEBUG.
    for driver in QUIET_DRIVERS:
        logging.getLogger(driver).setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))
