"""PostgreSQL databases the bench and the chaos run make for themselves on a local server."""

import argparse
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import asyncpg

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def require_local(url: str) -> None:
    """Refuse a server elsewhere: these runs create, fill and drop databases."""
    host = urlsplit(url.replace("+asyncpg", "")).hostname or ""
    if host not in LOCAL_HOSTS:
        raise ValueError(f"benchmarks and chaos run against local services only; refusing PostgreSQL at {host!r}")


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _asyncpg_url(server_url: str, name: str) -> str:
    return _plain(server_url).rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"


@asynccontextmanager
async def throwaway_postgres(server_url: str, prefix: str = "returnflow_bench_") -> AsyncIterator[str]:
    """A fresh database on the local server at ``server_url`` (its asyncpg URL), dropped afterwards."""
    require_local(server_url)
    name = prefix + secrets.token_hex(4)
    admin = await asyncpg.connect(_plain(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield _asyncpg_url(server_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def create_database_if_missing(database_url: str) -> None:
    """The database ``database_url`` names, created on its server when it is not there (kept afterwards)."""
    require_local(database_url)
    server, name = _plain(database_url).rsplit("/", 1)
    admin = await asyncpg.connect(f"{server}/postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


@asynccontextmanager
async def app_database(kind: str, server: str) -> AsyncIterator[str | None]:
    """None for the stack's own SQLite file; a throw-away PostgreSQL database's URL otherwise."""
    if kind == "sqlite":
        yield None
        return
    async with throwaway_postgres(server) as url:
        yield url


def add_postgres_server_argument(parser: argparse.ArgumentParser) -> None:
    """``--postgres-server``: the local server the throw-away database of ``app_database`` is made on."""
    parser.add_argument(
        "--postgres-server",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="where the throw-away PostgreSQL database is made (%(default)s)",
    )
