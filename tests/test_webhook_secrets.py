"""Migration 0013: webhook endpoints' signing secrets, kept in clear before, are sealed with the codec keys."""

import asyncio
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import select

from returnflow.codec import EncryptionCodec
from store import webhook_endpoints
from store.db import Database
from store.migrate import alembic_config
from store.tables import WebhookEndpoint
from tests.conftest import TEST_CODEC_KEYS, fresh_postgres_database

CODEC = EncryptionCodec.from_text(TEST_CODEC_KEYS)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_the_migration_seals_the_secrets_kept_in_clear_and_the_downgrade_opens_them(
    backend: str, tmp_path: Path
) -> None:
    async with AsyncExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path / 'secrets.db'}"
        else:
            url = await stack.enter_async_context(fresh_postgres_database())
        config = alembic_config(url)
        await asyncio.to_thread(command.upgrade, config, "0012_surveys")
        database = Database(url)
        stack.push_async_callback(database.dispose)
        clear = sa.table("webhook_endpoints", *(sa.column(name) for name in ("id", "url", "events", "secret")))
        clear_rows = [("whe_old1", "whsec_first"), ("whe_old2", "whsec_second")]
        async with database.transaction() as session:
            for endpoint_id, secret in clear_rows:
                await session.execute(
                    sa.text(
                        "INSERT INTO webhook_endpoints (id, url, events, secret, created_at) "
                        "VALUES (:id, 'https://hooks.example.invalid/', '[\"return.approved\"]', :secret, :now)"
                    ),
                    {"id": endpoint_id, "secret": secret, "now": datetime.now(UTC)},
                )

        await asyncio.to_thread(command.upgrade, config, "head")
        async with database.sessions() as session:
            sealed = {row.id: row.encrypted_secret for row in (await session.scalars(select(WebhookEndpoint))).all()}
        assert set(sealed) == {"whe_old1", "whe_old2"}
        for endpoint_id, secret in clear_rows:
            assert secret not in sealed[endpoint_id]
            assert webhook_endpoints.unseal_secret(CODEC, endpoint_id, sealed[endpoint_id]) == secret

        await asyncio.to_thread(command.downgrade, config, "0012_surveys")
        async with database.sessions() as session:
            opened = (await session.execute(select(clear.c.id, clear.c.secret).order_by(clear.c.id))).all()
        assert [tuple(row) for row in opened] == clear_rows
