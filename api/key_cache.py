"""The API keys an API process has looked up recently, so that a request need not ask the database.

Every authenticated request carries a key; looking it up is a database round trip (a connection from the
pool, a query, a rollback), more than some whole requests otherwise cost. A live key found in the database
is trusted for ``ttl_seconds``, then looked up again: a key revoked elsewhere (another API process, the
CLI) stops working within that time, and at once in the process that revoked it (``forget``). Unknown and
revoked keys are never remembered, so a new key works at once and a guessed one costs a lookup each time.

Only the keys' hashes are kept, never the secrets; there are as many entries at most as live keys in use.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from store.api_keys import Role, find_key, hash_key
from store.db import Database


@dataclass(frozen=True)
class KnownKey:
    id: str
    role: Role


class KeyCache:
    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._known: dict[str, tuple[KnownKey, float]] = {}  # key hash -> (the key, when to look it up again)
        # Moves on at each ``forget``: a lookup that was under way meanwhile may have read the key as live.
        self._forgotten = 0

    async def find(self, database: Database, secret: str) -> KnownKey | None:
        """The live key with this secret, or None (unknown or revoked)."""
        digest = hash_key(secret)
        entry = self._known.get(digest)
        now = self._clock()
        if entry is not None and now < entry[1]:
            return entry[0]
        forgotten = self._forgotten
        async with database.sessions() as session:
            row = await find_key(session, secret)
        if row is None:
            self._known.pop(digest, None)
            return None
        key = KnownKey(id=row.id, role=row.role)  # type: ignore[arg-type]
        if self.ttl_seconds > 0 and forgotten == self._forgotten:
            self._known[digest] = (key, now + self.ttl_seconds)
        return key

    def forget(self, key_id: str) -> None:
        """Stop trusting the key ``key_id`` (just revoked by this process)."""
        self._forgotten += 1
        self._known = {digest: entry for digest, entry in self._known.items() if entry[0].id != key_id}
