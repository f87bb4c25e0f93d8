"""Apply the Alembic migrations to a database (``returnflow db upgrade``, the stack, the tests)."""

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from returnflow.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str, codec_keys: str = "") -> Config:
    """``codec_keys``: what migrations that seal data use (0013, webhook secrets); empty: RETURNFLOW_CODEC_KEYS."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    config.attributes["codec_keys"] = codec_keys
    return config


def upgrade(url: str, codec_keys: str = "") -> None:
    """Bring the schema to the newest revision. Safe to call on every start."""
    command.upgrade(alembic_config(url, codec_keys), "head")


async def upgrade_async(url: str) -> None:
    # env.py runs its own event loop, so it needs a thread when one is already running.
    await asyncio.to_thread(upgrade, url)


def prepare_database(settings: Settings) -> None:
    """Create the data folder when the database is the embedded SQLite one, then migrate."""
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url, settings.codec_keys.get_secret_value())
