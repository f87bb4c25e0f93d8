"""Run the sandbox partners: ``python -m sandbox``.

Environment: ``RETURNFLOW_SANDBOX_HOST`` (default 127.0.0.1), ``RETURNFLOW_SANDBOX_PORT``
(default 8100), ``RETURNFLOW_SANDBOX_DB`` (SQLite file for the state; unset: in memory),
``RETURNFLOW_SANDBOX_CARRIER_EVENTS_URL`` (where the carrier posts its scans, signed with
``RETURNFLOW_CARRIER_WEBHOOK_SECRET``; either unset: it posts none),
plus ``RETURNFLOW_LOG_LEVEL`` / ``RETURNFLOW_LOG_FORMAT`` read through ``returnflow.settings``.
"""

import os

import uvicorn

from returnflow.logging import configure_logging
from returnflow.settings import get_settings
from sandbox.app import create_app


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    host = os.environ.get("RETURNFLOW_SANDBOX_HOST", "127.0.0.1")
    port = int(os.environ.get("RETURNFLOW_SANDBOX_PORT", "8100"))
    events_url = os.environ.get("RETURNFLOW_SANDBOX_CARRIER_EVENTS_URL")
    secret = settings.carrier_webhook_secret.get_secret_value()
    webhook = (events_url, secret) if events_url and secret else None
    app = create_app(os.environ.get("RETURNFLOW_SANDBOX_DB") or None, carrier_webhook=webhook)
    uvicorn.run(app, host=host, port=port, log_level=settings.log_level.lower(), log_config=None)


if __name__ == "__main__":
    main()
