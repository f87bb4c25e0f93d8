"""The sandbox's refusals: every error answer is JSON ``{"code": ..., "message": ...}``."""


class SandboxError(Exception):
    """A refusal rendered as ``{"code": ..., "message": ...}`` with the given HTTP status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, code, message)
        self.status = status
        self.code = code
        self.message = message


def key_reused(idempotency_key: str) -> SandboxError:
    return SandboxError(
        422,
        "idempotency_key_reused",
        f"idempotency key {idempotency_key!r} was already used with different parameters",
    )


def not_found(what: str) -> SandboxError:
    return SandboxError(404, "not_found", f"{what} not found")
