"""Who is calling: ``Authorization: Bearer <credential>`` mapped to a role.

- An API key (``returnflow keys create``) is a ``service`` or an ``operator``.
- A customer token (``POST /v1/customer-sessions``) is a ``customer``, for one
  customer id, until it expires. It is ``rfc_<base64url(payload)>.<base64url(sig)>``
  where the payload is the JSON ``{"customer_id": …, "exp": <unix seconds>}`` and
  ``sig`` is HMAC-SHA256 of the base64url payload text with ``RETURNFLOW_SESSION_SECRET``.
  Nothing is stored: a token cannot be revoked, so it is short-lived.
- A carrier posts ``/v1/carrier-events`` signed with ``Carrier-Signature``
  (``carrier_or_service``), not with a bearer credential.
"""

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.problems import Problem
from domain import signing
from domain.signing import SignatureCheck
from returnflow.session_secret import session_secret
from returnflow.settings import Settings

bearer = HTTPBearer(
    auto_error=False,
    description="An API key (`returnflow keys create`) or a customer token (`POST /v1/customer-sessions`).",
)

CallerRole = Literal["service", "operator", "customer", "carrier"]
TOKEN_PREFIX = "rfc_"
# A customer token is a few hundred bytes; anything much longer is not one.
MAX_TOKEN_LENGTH = 1024


@dataclass(frozen=True)
class Caller:
    role: CallerRole
    key_id: str
    customer_id: str | None = None

    @property
    def actor(self) -> str:
        """How the audit trail (and the per-caller idempotency keys and rate limits) names this caller."""
        if self.role == "customer":
            return f"customer:{self.customer_id}"
        return f"{self.role}:{self.key_id}"

    def owns(self, customer_id: str) -> bool:
        """May this caller see what belongs to ``customer_id``? Staff and services see everything."""
        return self.role != "customer" or self.customer_id == customer_id


# --- customer tokens -----------------------------------------------------------------------------


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, payload: str) -> bytes:
    return hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest()


def mint_customer_token(
    secret: bytes, customer_id: str, ttl_seconds: float, now: float | None = None
) -> tuple[str, datetime]:
    """A token for ``customer_id`` valid ``ttl_seconds`` from ``now``; returns it and when it expires."""
    expires = int((time.time() if now is None else now) + ttl_seconds)
    payload = _b64encode(json.dumps({"customer_id": customer_id, "exp": expires}, separators=(",", ":")).encode())
    return f"{TOKEN_PREFIX}{payload}.{_b64encode(_sign(secret, payload))}", datetime.fromtimestamp(expires, UTC)


def verify_customer_token(secret: bytes, token: str, now: float | None = None) -> str:
    """The customer id the token was made for; ``Problem(401)`` when it is forged, malformed or expired."""
    invalid = Problem(401, "the customer token is invalid", headers={"WWW-Authenticate": "Bearer"})
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        raise invalid
    payload, dot, signature = token[len(TOKEN_PREFIX) :].partition(".")
    try:
        if not dot or not payload.isascii() or not signature.isascii():
            raise invalid
        given = _b64decode(signature)
        if not hmac.compare_digest(_sign(secret, payload), given):
            raise invalid
        claims = json.loads(_b64decode(payload))
    except (binascii.Error, ValueError):
        raise invalid from None
    customer_id, expires = (claims.get("customer_id"), claims.get("exp")) if isinstance(claims, dict) else (None, None)
    if not isinstance(customer_id, str) or not customer_id or not isinstance(expires, int):
        raise invalid
    if expires <= (time.time() if now is None else now):
        raise Problem(
            401,
            "the customer token has expired; ask for a new one",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return customer_id


def customer_caller(settings: Settings, token: str) -> Caller:
    """The customer a token was made for, as a caller; ``Problem(401)`` when it is forged or expired."""
    customer_id = verify_customer_token(session_secret(settings), token)
    return Caller(role="customer", key_id="session", customer_id=customer_id)


# --- dependencies --------------------------------------------------------------------------------


async def authenticate(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Caller:
    if credentials is None or not credentials.credentials:
        raise Problem(
            401, "send Authorization: Bearer <API key or customer token>", headers={"WWW-Authenticate": "Bearer"}
        )
    credential = credentials.credentials
    if credential.startswith(TOKEN_PREFIX):
        return customer_caller(request.app.state.settings, credential)
    key = await request.app.state.api_keys.find(request.app.state.database, credential)
    if key is None:
        raise Problem(401, "the API key is unknown or revoked", headers={"WWW-Authenticate": "Bearer"})
    return Caller(role=key.role, key_id=key.id)


def allow(*roles: CallerRole):
    """A dependency that admits only ``roles`` (403 for the others)."""

    async def check(caller: Annotated[Caller, Depends(authenticate)]) -> Caller:
        if caller.role not in roles:
            raise Problem(403, f"the {caller.role} role may not do this")
        return caller

    return check


# --- carrier signatures --------------------------------------------------------------------------

CARRIER_SIGNATURE = "Carrier-Signature"
carrier_signature_header = APIKeyHeader(
    name=CARRIER_SIGNATURE,
    scheme_name="CarrierSignature",
    auto_error=False,
    description='Carriers sign each event: `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>` '
    "with RETURNFLOW_CARRIER_WEBHOOK_SECRET. Services send an API key instead.",
)


def carrier_signature(secret: bytes, body: bytes, timestamp: int) -> str:
    """The ``Carrier-Signature`` value a carrier sends for ``body`` at ``timestamp`` (unix seconds)."""
    return signing.sign(secret, timestamp, body)


_CARRIER_SIGNATURE_REFUSALS = {
    SignatureCheck.NO_TIMESTAMP: "Carrier-Signature has no valid t=<unix time>",
    SignatureCheck.STALE: "Carrier-Signature is too old or from the future; sign each event when sending it",
    SignatureCheck.MISMATCH: "Carrier-Signature does not match the body",
}


def verify_carrier_signature(
    secret: bytes, header: str, body: bytes, tolerance_seconds: int, now: float | None = None
) -> None:
    """``Problem(401)`` unless ``header`` signs ``body`` with ``secret`` at a time within the tolerance."""
    moment = time.time() if now is None else now
    check = signing.verify(secret, header, body, moment, timedelta(seconds=tolerance_seconds))
    if check is not SignatureCheck.VALID:
        raise Problem(401, _CARRIER_SIGNATURE_REFUSALS[check])


async def carrier_or_service(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    signature: Annotated[str | None, Depends(carrier_signature_header)],
) -> Caller:
    """A carrier's signed request, or a service key. A signature, when sent, must be valid."""
    if signature is None:
        return await allow("service")(await authenticate(request, credentials))
    settings: Settings = request.app.state.settings
    secret = settings.carrier_webhook_secret.get_secret_value()
    if not secret:
        raise Problem(401, "carrier signatures are not configured here (RETURNFLOW_CARRIER_WEBHOOK_SECRET)")
    verify_carrier_signature(
        secret.encode(), signature, await request.body(), settings.carrier_signature_tolerance_seconds
    )
    return Caller(role="carrier", key_id="signature")
