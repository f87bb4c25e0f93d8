"""The ``returnflow`` command line: API keys, migrations and the dev stack.

    returnflow keys create --role service [--label TEXT]   prints the new key alone on stdout
    returnflow keys revoke KEY_ID
    returnflow db upgrade
    returnflow stack

Configuration comes from the environment like every other process (see
``returnflow.settings``). Messages for people go to stderr so that
``KEY=$(returnflow keys create --role service)`` captures just the key.
"""

import asyncio
from collections.abc import Coroutine
from enum import StrEnum
from typing import Annotated, Any, TypeVar, cast

import typer
from sqlalchemy.engine import make_url

from returnflow.settings import Settings
from store.api_keys import Role as KeyRole
from store.api_keys import create_api_key, revoke_api_key
from store.db import Database
from store.migrate import upgrade

T = TypeVar("T")

app = typer.Typer(
    help="returnflow: returns and refunds as durable Temporal workflows.", no_args_is_help=True, add_completion=False
)
keys_app = typer.Typer(help="Create and revoke API keys.", no_args_is_help=True)
db_app = typer.Typer(help="The app database.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")


class Role(StrEnum):
    service = "service"
    operator = "operator"


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="service: backend systems; operator: warehouse staff and reviewers.")],
    label: Annotated[str, typer.Option(help="A note to tell keys apart, e.g. the system that uses it.")] = "",
) -> None:
    """Create an API key and print it (it is shown only this once)."""
    settings = Settings()
    prepare_database(settings)
    key_id, secret = run_async(_create_key(settings.effective_database_url, role.value, label))
    typer.echo(f"Created {role.value} key {key_id}. Keep the key secret; it is not shown again.", err=True)
    typer.echo(secret)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (key_…), not the secret.")]) -> None:
    """Revoke an API key; requests made with it are refused from now on."""
    settings = Settings()
    prepare_database(settings)
    if not run_async(_revoke_key(settings.effective_database_url, key_id)):
        typer.echo(f"No active key with id {key_id}.", err=True)
        raise typer.Exit(1)
    typer.echo(f"Revoked {key_id}.", err=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (safe to run on every deploy)."""
    settings = Settings()
    prepare_database(settings)
    typer.echo(f"Database is up to date: {redacted(settings.effective_database_url)}", err=True)


@app.command("stack")
def stack() -> None:
    """Run the dev stack in this terminal: Temporal dev server, sandbox partners, worker and API."""
    from returnflow.stack import run_stack  # imported here: only this command needs it

    raise typer.Exit(run_stack(Settings()))


def prepare_database(settings: Settings) -> None:
    """Create the data folder when the database is the embedded SQLite one, then migrate."""
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url)


def redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a fresh loop without touching the thread's current loop.

    Unlike ``asyncio.run`` this leaves ``asyncio.get_event_loop()`` alone, so the CLI can
    be called from sync tests that share a process with pytest-asyncio's loop.
    """
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def _create_key(url: str, role: str, label: str) -> tuple[str, str]:
    database = Database(url)
    try:
        async with database.transaction() as session:
            return await create_api_key(session, cast(KeyRole, role), label)
    finally:
        await database.dispose()


async def _revoke_key(url: str, key_id: str) -> bool:
    database = Database(url)
    try:
        async with database.transaction() as session:
            return await revoke_api_key(session, key_id)
    finally:
        await database.dispose()
