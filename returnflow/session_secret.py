"""The secret customer tokens and tracking links are signed with, shared by the API and the worker.

The API signs customer tokens (``api/auth.py``) and checks tracking links (``console/routes/track.py``);
the worker signs the tracking links customers' messages carry (``activities/customer_notifications.py``).
All of them must use the same ``RETURNFLOW_SESSION_SECRET``; without one, each process signs with a random
secret of its own (development only: a link made by one process opens nothing in another).
"""

import secrets

import structlog

from returnflow.settings import Settings

log = structlog.get_logger()

_process_secret = secrets.token_bytes(32)
_warned_about_process_secret = False


def session_secret(settings: Settings) -> bytes:
    """The configured secret, else this process's random one (with a warning, once)."""
    global _warned_about_process_secret
    configured = settings.session_secret.get_secret_value()
    if configured:
        return configured.encode()
    if not _warned_about_process_secret:
        _warned_about_process_secret = True
        log.warning(
            "RETURNFLOW_SESSION_SECRET is not set: customer tokens and tracking links are signed with a random "
            "secret of this process and stop working when it restarts (development only)"
        )
    return _process_secret
