"""A partner's "no" is final: retrying cannot change it, so it becomes a non-retryable ApplicationError
the workflow handles (a partner that cannot answer raises ``PartnerUnavailable`` and Temporal retries)."""

from collections.abc import Awaitable
from typing import TypeVar

from temporalio.exceptions import ApplicationError

from connectors.errors import PartnerRejected

T = TypeVar("T")


async def refusals_are_final(call: Awaitable[T]) -> T:
    try:
        return await call
    except PartnerRejected as refusal:
        raise ApplicationError(refusal.message, type=refusal.code, non_retryable=True) from None
