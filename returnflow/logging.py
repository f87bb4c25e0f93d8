"""structlog set-up shared by the API, the worker, the sandbox and the CLI.

Logs are JSON lines unless they go to a terminal, where they are pretty. With JSON every
line on stderr is one JSON object: structlog's own lines and the standard library's
(uvicorn's start-up, access and error lines, temporalio, alembic) alike, tracebacks
included as an ``exception`` field. Context such as ``return_id``, ``workflow_id`` and
``activity`` is bound with ``structlog.contextvars`` by the code that knows it (the
activity interceptor, the API routes) and appears on every line logged while it is bound.
"""

import logging
import sys

import structlog

# Database drivers log statements with their parameters (customers' details included) at INFO and DEBUG.
QUIET_DRIVERS = ("aiosqlite", "asyncpg", "sqlalchemy.engine")
# httpx logs every request at INFO ("HTTP Request: POST …"), httpcore every socket event at DEBUG; the partner
# connectors log their calls themselves, at DEBUG (connectors/http.py), so theirs are noise in production.
QUIET_HTTP = ("httpx", "httpcore")
# uvicorn's loggers, which its command line gives handlers of their own (plain text) before the app is loaded.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


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
    # The traceback of a failure becomes one string field of the line (pretty output prints it itself).
    tracebacks: list[structlog.types.Processor] = [] if pretty else [structlog.processors.format_exc_info]
    structlog.configure(
        processors=[*shared, *tracebacks, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    # Route the standard library's records (uvicorn, temporalio, alembic) through the same renderer.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tracebacks, renderer],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # Python's warnings too, which it would otherwise print as plain text
    for name in UVICORN_LOGGERS:
        # Whether uvicorn was started by its command line (which configured these) or by uvicorn.run with
        # log_config=None: their records go to the root handler above, and nowhere else.
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(logging.NOTSET)
    for name in (*QUIET_DRIVERS, *QUIET_HTTP):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))
