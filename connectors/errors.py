"""The two ways a partner call fails, and what the caller should do about each.

``PartnerUnavailable``: the partner could not answer (5xx, 429, timeout, connection
refused); the call is safe to retry with the same idempotency key.
``PartnerRejected``: the partner answered and said no (card declined, key reused,
unknown shipment); retrying will not change the answer.
"""


class PartnerError(Exception):
    """Base class for partner failures."""


class PartnerUnavailable(PartnerError):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message, status)
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return self.message if self.status is None else f"{self.message} (HTTP {self.status})"


class PartnerRejected(PartnerError):
    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(code, message, status)
        self.code = code
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
