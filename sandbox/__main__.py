"""Run the sandbox partners alone: ``python -m sandbox``.

Its settings are in ``returnflow.settings`` like every process's: ``RETURNFLOW_SANDBOX_HOST`` and
``RETURNFLOW_SANDBOX_PORT`` (where it listens), ``RETURNFLOW_SANDBOX_DB`` (the SQLite file of its state;
empty: in memory), ``RETURNFLOW_SANDBOX_CARRIER_EVENTS_URL`` (where the carrier posts its scans, signed
with ``RETURNFLOW_CARRIER_WEBHOOK_SECRET``; either empty: it posts none), and the log level and format.
"""

import uvicorn

from returnflow.logging import configure_logging
from returnflow.settings import get_settings
from sandbox.app import create_app


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    secret = settings.carrier_webhook_secret.get_secret_value()
    events_url = settings.sandbox_carrier_events_url
    webhook = (events_url, secret) if events_url and secret else None
    app = create_app(settings.sandbox_db or None, carrier_webhook=webhook)
    uvicorn.run(app, host=settings.sandbox_host, port=settings.sandbox_port, log_config=None)


if __name__ == "__main__":
    main()
