"""An API process trusts a live key it has looked up for a few seconds (api/key_cache.py), and no longer."""

from datetime import UTC, datetime

from sqlalchemy import update

from api.key_cache import KeyCache
from store.api_keys import create_api_key, revoke_api_key
from store.db import Database
from store.tables import ApiKey


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_key_revoked_elsewhere_stops_working_once_its_time_is_up(database: Database) -> None:
    async with database.transaction() as session:
        key_id, secret = await create_api_key(session, "operator", label="cached")
    clock = Clock()
    keys = KeyCache(5.0, clock)
    found = await keys.find(database, secret)
    assert found is not None and (found.id, found.role) == (key_id, "operator")
    async with database.transaction() as session:  # another process, or `returnflow keys revoke`
        await revoke_api_key(session, key_id)
    clock.now += 4.9
    assert await keys.find(database, secret) == found, "trusted for 5 s"
    clock.now += 0.2
    assert await keys.find(database, secret) is None
    clock.now += 0.1
    assert await keys.find(database, secret) is None, "a revoked key is never remembered as live"


async def test_a_key_revoked_here_stops_working_at_once(database: Database) -> None:
    async with database.transaction() as session:
        key_id, secret = await create_api_key(session, "service", label="forgotten")
    keys = KeyCache(60.0, Clock())
    assert await keys.find(database, secret) is not None
    async with database.transaction() as session:
        await revoke_api_key(session, key_id)
    keys.forget(key_id)
    assert await keys.find(database, secret) is None


async def test_unknown_keys_are_not_remembered_so_a_new_key_works_at_once(database: Database) -> None:
    keys = KeyCache(60.0, Clock())
    assert await keys.find(database, "rf_ser_not-a-key") is None
    async with database.transaction() as session:
        _, secret = await create_api_key(session, "service", label="new")
    assert await keys.find(database, secret) is not None


async def test_a_lookup_under_way_while_the_key_is_forgotten_does_not_remember_it(database: Database) -> None:
    """The lookup read the key as live before the revocation committed: its answer is not kept."""
    async with database.transaction() as session:
        key_id, secret = await create_api_key(session, "service", label="raced")
    keys = KeyCache(60.0, Clock())

    class ForgettingMidLookup:
        """The database, except that the key is revoked and forgotten while the lookup's session is open."""

        def sessions(self):  # type: ignore[no-untyped-def]
            keys.forget(key_id)
            return database.sessions()

    assert await keys.find(ForgettingMidLookup(), secret) is not None  # type: ignore[arg-type]
    async with database.transaction() as session:
        await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(revoked_at=datetime.now(UTC)))
    assert await keys.find(database, secret) is None


async def test_no_time_at_all_looks_every_key_up(database: Database) -> None:
    async with database.transaction() as session:
        key_id, secret = await create_api_key(session, "service", label="uncached")
    keys = KeyCache(0.0, Clock())
    assert await keys.find(database, secret) is not None
    async with database.transaction() as session:
        await revoke_api_key(session, key_id)
    assert await keys.find(database, secret) is None
