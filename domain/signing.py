"""The one HMAC signature recipe of returnflow's signed requests.

A signature header is ``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``.
Carriers sign the events they post with it (``Carrier-Signature``, checked by
``api/auth.py``); returnflow signs the webhooks it sends with it
(``Returnflow-Signature``, ``store/webhook_deliveries.py``). A receiver recomputes
the HMAC, compares in constant time, and refuses a timestamp too far from its own
clock (a replayed request). Several ``v1=`` values may be sent (a secret being
rotated): one matching is enough.
"""

import hashlib
import hmac
from datetime import timedelta
from enum import StrEnum


class SignatureCheck(StrEnum):
    VALID = "valid"
    NO_TIMESTAMP = "no_timestamp"  # no t=<unix seconds> (or not an integer)
    STALE = "stale"  # signed too long ago, or in the future, for the tolerance
    MISMATCH = "mismatch"  # no v1= is the HMAC of this body at that time with this secret


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (unix seconds)."""
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: bytes, header: str, body: bytes, now: float, tolerance: timedelta) -> SignatureCheck:
    """Whether ``header`` signs ``body`` with ``secret`` within ``tolerance`` of ``now`` (unix seconds)."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        fields.setdefault(name, []).append(value)
    try:
        timestamp = int(fields.get("t", [""])[0])
    except ValueError:
        return SignatureCheck.NO_TIMESTAMP
    if abs(now - timestamp) > tolerance.total_seconds():
        return SignatureCheck.STALE
    expected = sign(secret, timestamp, body).partition(",v1=")[2].encode()
    if any(hmac.compare_digest(expected, given.encode("ascii", "replace")) for given in fields.get("v1", [])):
        return SignatureCheck.VALID
    return SignatureCheck.MISMATCH
