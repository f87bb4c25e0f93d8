"""``Idempotency-Key`` on POST requests, for any route (see the contract's Conventions).

An ASGI middleware, so it sees the raw body and the exact bytes answered:

- a POST carrying the header, from an authenticated caller, claims ``(caller, key)``
  in the database (the database decides who is first; see ``store.idempotency``);
- the same key with the same method, path and body gets the first response back,
  byte for byte, with ``Idempotent-Replayed: true``; with another request, 422;
  while the first is still running, 409;
- while the first runs, it renews its lease on the key (every third of the lock
  timeout), so a retry after the API process died takes the key over one lock
  timeout later, however long requests may take;
- only answers worth replaying are kept (2xx, and 4xx that say something about the
  request); after a 5xx, an exception, or a transient 4xx (401, 403, 408, 409, 425,
  429) the key is given back so a retry can proceed.

Routes that create something with an id of their own derive it from the key with
``idempotent_id`` so that a retry after a crash (the work done, the answer not yet
stored) lands on the same resource instead of creating a second one.

Requests without credentials (or with bad ones) pass through untouched: the
route's own authentication answers 401.
"""

import asyncio
import contextlib
import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import authenticate, bearer
from api.problems import Problem, problem_response
from store import idempotency as keys
from store.db import Database

log = structlog.get_logger("api")

HEADER = "idempotency-key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_FORMAT = re.compile(r"[\x20-\x7e]{1,255}")
# Answers that say nothing final about the request: a retry with the same key must run it again.
TRANSIENT_STATUSES = frozenset({401, 403, 408, 409, 425, 429})
# Not replayed: hop-by-hop headers and those that belong to one answer only.
UNSTORED_HEADERS = frozenset(
    {"content-length", "connection", "keep-alive", "transfer-encoding", "date", "server", "set-cookie", "x-request-id"}
)
_STATE = "idempotency"
_CALLER = "caller_scope"
_NO_CALLER = ""


@dataclass(frozen=True)
class KeyInUse:
    """What a route can learn about the key its request carries."""

    scope: str
    key: str
    request_hash: str


def request_hash(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), b"\n", path.encode("utf-8", "surrogateescape"), b"\n", body):
        digest.update(part)
    return digest.hexdigest()


def idempotent_id(request: Request, prefix: str) -> str | None:
    """A resource id derived from this request's Idempotency-Key, or None without one.

    The same caller, key and request always give the same id, so a create that
    reaches its id-keyed store (e.g. a workflow id) a second time is refused there.
    """
    in_use = request.scope.get("state", {}).get(_STATE)
    if not isinstance(in_use, KeyInUse):
        return None
    seed = f"{in_use.scope}|{in_use.key}|{in_use.request_hash}".encode()
    return prefix + hashlib.sha256(seed).hexdigest()[:20]


async def caller_scope(scope: Scope) -> str | None:
    """Who is calling, as a short string for scoping keys and limits; None for no or bad credentials.

    Resolved exactly as the routes do (``api.auth.authenticate``) and remembered for the request.
    """
    state: MutableMapping[str, Any] = scope.setdefault("state", {})
    if _CALLER not in state:
        request = Request(scope)
        try:
            caller = await authenticate(request, await bearer(request))
        except Problem:
            state[_CALLER] = _NO_CALLER
        else:
            actor = caller.actor
            # The column holds 64 characters; a longer actor (e.g. a customer id) is hashed to fit.
            state[_CALLER] = actor if len(actor) <= 64 else "h:" + hashlib.sha256(actor.encode()).hexdigest()
    return state[_CALLER] or None


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, *, ttl: timedelta, lock_timeout: timedelta) -> None:
        self.app = app
        self.ttl = ttl
        self.lock_timeout = lock_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        raw_keys = [value for name, value in scope["headers"] if name == HEADER.encode()]
        if not raw_keys:
            await self.app(scope, receive, send)
            return
        key = raw_keys[0].decode("latin-1")
        if len(raw_keys) > 1 or not KEY_FORMAT.fullmatch(key):
            await problem_response(
                400,
                "Idempotency-Key must be one value of 1 to 255 printable ASCII characters",
                [
                    {"field": "Idempotency-Key", "code": "invalid_idempotency_key", "message": "1-255 printable ASCII"},
                ],
            )(scope, receive, send)
            return
        who = await caller_scope(scope)
        if who is None:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            return  # the client went away
        path = scope.get("raw_path", b"").decode("latin-1") or scope["path"]
        if scope.get("query_string"):
            path += "?" + scope["query_string"].decode("latin-1")
        fingerprint = request_hash("POST", path, body)
        database = scope["app"].state.database
        outcome = await keys.claim(
            database,
            who,
            key,
            method="POST",
            path=path,
            request_hash=fingerprint,
            ttl=self.ttl,
            lock_timeout=self.lock_timeout,
        )
        match outcome:
            case keys.Replay(response):
                await _send_stored(send, response, replayed=True)
            case keys.Mismatch():
                await problem_response(
                    422,
                    "this Idempotency-Key was already used for a different request",
                    [
                        {
                            "field": "Idempotency-Key",
                            "code": "idempotency_key_reused",
                            "message": "use a new key for a new request",
                        },
                    ],
                )(scope, receive, send)
            case keys.InFlight():
                await problem_response(
                    409,
                    "a request with this Idempotency-Key is still in progress; retry later",
                    headers={"Retry-After": "1"},
                )(scope, receive, send)
            case keys.Claimed(token):
                scope["state"][_STATE] = KeyInUse(who, key, fingerprint)
                await self._run(scope, _replaying(body, receive), send, database, who, key, token)

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, database: Database, who: str, key: str, token: datetime
    ) -> None:
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            async with _renewing_lease(database, who, key, token, self.lock_timeout):
                await self.app(scope, receive, capture)
        except BaseException:
            await _release(database, who, key, token)
            raise
        if start is None:
            await _release(database, who, key, token)
            return
        status: int = start["status"]
        response = keys.StoredResponse(status, _storable(start.get("headers", [])), b"".join(chunks))
        if 200 <= status < 300 or (400 <= status < 500 and status not in TRANSIENT_STATUSES):
            try:
                await keys.finish(database, who, key, token, response)
            except Exception as error:  # the answer still goes out; the claim lapses after the lock timeout
                log.exception("could not store the idempotent response", error=str(error))
        else:
            await _release(database, who, key, token)
        await send(start)
        await send({"type": "http.response.body", "body": response.body, "more_body": False})


@contextlib.asynccontextmanager
async def _renewing_lease(
    database: Database, who: str, key: str, token: datetime, lease: timedelta
) -> AsyncIterator[None]:
    """Renew the claim's lease in the background for as long as the block runs.

    The renewal is stopped between two renewals, never cancelled inside one: a transaction cancelled
    halfway can leave its pooled connection unusable ("Can't reconnect until invalid transaction is
    rolled back"), and then the answer could neither be stored nor the key released."""
    finished = asyncio.Event()
    renewal = asyncio.create_task(_renew_lease(database, who, key, token, lease, finished))
    try:
        yield
    finally:
        finished.set()
        await renewal


async def _renew_lease(
    database: Database, who: str, key: str, token: datetime, lease: timedelta, finished: asyncio.Event
) -> None:
    while not await _set_within(finished, lease.total_seconds() / 3):
        try:
            held = await keys.renew(database, who, key, token, lease)
        except Exception as error:  # the next renewal may get through before the lease lapses
            log.warning("could not renew the Idempotency-Key lease", error=str(error))
            continue
        if not held:
            log.warning("lost the Idempotency-Key lease to a retry; the answer will not be stored", key=key)
            return


async def _set_within(event: asyncio.Event, seconds: float) -> bool:
    """Whether ``event`` is set within ``seconds``."""
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return False
    return True


async def _release(database: Database, who: str, key: str, token: datetime) -> None:
    try:
        await keys.release(database, who, key, token)
    except Exception as error:  # the claim lapses after the lock timeout
        log.exception("could not release the idempotency key", error=str(error))


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Callable[[], Awaitable[Message]]:
    """A ``receive`` that hands the buffered body over once, then waits for the disconnect as usual."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _storable(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name_bytes, value_bytes in raw:
        name, value = name_bytes.decode("latin-1").lower(), value_bytes.decode("latin-1")
        if name not in UNSTORED_HEADERS:
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


async def _send_stored(send: Send, response: keys.StoredResponse, *, replayed: bool) -> None:
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in response.headers.items()]
    headers.append((b"content-length", str(len(response.body)).encode()))
    if replayed:
        headers.append((REPLAYED_HEADER.lower().encode(), b"true"))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body, "more_body": False})
