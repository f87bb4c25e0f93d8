"""The link a customer's message carries to the tracking page: ``/track/{return_id}?token=rft_…``.

The token opens that one return's page, for a while (``tracking_link_ttl_days``), without a login:
``rft_<expiry, unix seconds>.<hex HMAC-SHA256>`` over ``"<expiry>.track:<return id>"`` with the secret
customer tokens are signed with (``domain/signing.py``'s recipe). It names neither the customer nor the
return: the return is the page's address, the customer is whoever the return belongs to. A token for
another return, altered in any character, or past its expiry opens nothing.
"""

import hmac
from enum import StrEnum

from domain import signing

TOKEN_PREFIX = "rft_"
# Ten digits of expiry, a dot, 64 hex digits; anything much longer is not a tracking token.
MAX_TOKEN_LENGTH = 128


class LinkCheck(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    INVALID = "invalid"  # not a tracking token, another return's, or altered


def _digest(secret: bytes, return_id: str, expires: int) -> str:
    return signing.sign(secret, expires, f"track:{return_id}".encode()).partition(",v1=")[2]


def mint(secret: bytes, return_id: str, expires: int) -> str:
    """A token that opens ``return_id``'s tracking page until ``expires`` (unix seconds)."""
    return f"{TOKEN_PREFIX}{expires}.{_digest(secret, return_id, expires)}"


def expiry(token: str) -> int | None:
    """When ``token`` says it expires (unix seconds), signed or not; None when it is no tracking token."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        return None
    expires = token[len(TOKEN_PREFIX) :].partition(".")[0]
    return int(expires) if expires.isascii() and expires.isdigit() else None


def check(secret: bytes, token: str, return_id: str, now: float) -> LinkCheck:
    """Whether ``token`` opens ``return_id``'s page at ``now`` (unix seconds)."""
    expires = expiry(token)
    digest = token.partition(".")[2]
    if expires is None or not digest.isascii():
        return LinkCheck.INVALID
    if not hmac.compare_digest(_digest(secret, return_id, expires), digest):
        return LinkCheck.INVALID
    return LinkCheck.VALID if expires > now else LinkCheck.EXPIRED


def is_tracking_token(token: str) -> bool:
    """A tracking link's token (else, perhaps, a customer session's)."""
    return token.startswith(TOKEN_PREFIX)
