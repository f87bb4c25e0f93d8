"""Shared HTTP plumbing for the partner connectors, and the one place that maps answers to errors."""

import time
from typing import Any, TypeVar

import httpx
import structlog
from pydantic import BaseModel, ValidationError

from connectors.errors import PartnerRejected, PartnerUnavailable

log = structlog.get_logger()

RETRYABLE_STATUSES = frozenset({408, 425, 429})

M = TypeVar("M", bound=BaseModel)


def error_for_response(partner: str, response: httpx.Response) -> PartnerUnavailable | PartnerRejected | None:
    """None for a 2xx; otherwise the error this status means (5xx/408/425/429: unavailable, other 4xx: rejected)."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    body = _json_or_none(response)
    code = body.get("code") if isinstance(body, dict) else None
    message = body.get("message") if isinstance(body, dict) else None
    if status >= 500 or status in RETRYABLE_STATUSES or status < 400:
        return PartnerUnavailable(f"{partner} answered {status}: {message or code or response.reason_phrase}", status)
    return PartnerRejected(
        code if isinstance(code, str) and code else f"http_{status}",
        message if isinstance(message, str) and message else f"{partner} answered {status}",
        status,
    )


class PartnerHttp:
    """An ``httpx.AsyncClient`` bound to one partner's base URL.

    The client's own settings (timeout, transport, auth headers) come from whoever built it.
    """

    def __init__(self, partner: str, client: httpx.AsyncClient, base_url: str) -> None:
        self.partner = partner
        self.client = client
        self.base_url = base_url.rstrip("/")

    async def call(self, method: str, path: str, json: Any = None) -> dict[str, Any]:
        """Send one request; the parsed JSON object on 2xx, else ``PartnerUnavailable``/``PartnerRejected``."""
        url = self.base_url + path
        started = time.monotonic()
        try:
            response = await self.client.request(method, url, json=json)
        except httpx.TimeoutException as exc:
            raise PartnerUnavailable(f"{self.partner} timed out: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise PartnerUnavailable(f"{self.partner} unreachable: {type(exc).__name__}: {exc}") from exc
        elapsed_ms = round((time.monotonic() - started) * 1000, 1)
        log.debug(
            "partner_call",
            partner=self.partner,
            method=method,
            path=path,
            status=response.status_code,
            elapsed_ms=elapsed_ms,
        )
        error = error_for_response(self.partner, response)
        if error is not None:
            log.info(
                "partner_call_failed",
                partner=self.partner,
                method=method,
                path=path,
                status=response.status_code,
                error=str(error),
                retryable=isinstance(error, PartnerUnavailable),
            )
            raise error
        body = _json_or_none(response)
        if not isinstance(body, dict):
            # A 2xx that is not our JSON (a proxy's error page, say): treat as a failed attempt, retry.
            raise PartnerUnavailable(
                f"{self.partner} answered {response.status_code} without a JSON object", response.status_code
            )
        return body


def parse_result(partner: str, model: type[M], body: dict[str, Any]) -> M:
    """Read a partner's answer into ``model``; an answer of the wrong shape counts as a failed attempt."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise PartnerUnavailable(f"{partner} answered with an unexpected body: {exc.error_count()} error(s)") from exc


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
