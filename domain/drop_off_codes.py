"""A drop-off return's code: the carrier's token, shown as a QR code the counter scans instead of a label.

The image is served at ``qr_code_url(site_url, token)`` without credentials: the token is the secret
(the carrier makes it random and unguessable), and the image only encodes that token. The address is
absolute, on the site customers reach returnflow at (``customer_site_url``), since a storefront or a
message shows it as it is.
"""

import re

# What carriers' tokens look like (URL-safe base64, as the sandbox makes them): anything else is no code.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


def qr_code_path(token: str) -> str:
    """Where the API serves the token's QR code (a PNG), from the site's root."""
    return f"/v1/drop-off-codes/{token}.png"


def qr_code_url(site_url: str, token: str) -> str:
    """The QR code's absolute address on the site customers reach returnflow at."""
    return site_url.rstrip("/") + qr_code_path(token)
