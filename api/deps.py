"""Per-process resources, created in the lifespan and reached through ``app.state``."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.workflow_calls import engine_unavailable
from returnflow.settings import Settings

# These only read: their transaction reads one snapshot and never takes SQLite's write lock (see store/db.py).
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def session(request: Request) -> AsyncIterator[AsyncSession]:
    # A route that writes takes SQLite's write lock at its first write, not before: it may wait for a workflow
    # (whose activities write) while it holds this session.
    begin = "deferred" if request.method in READING_METHODS else "at_first_write"
    async with request.app.state.database.transaction(begin=begin) as db_session:
        yield db_session


def temporal(request: Request) -> Client:
    """The process's Temporal client; a 503 with Retry-After while it is not connected yet (see api/app.py)."""
    client: Client | None = request.app.state.temporal
    if client is None:
        raise engine_unavailable()
    return client


def settings(request: Request) -> Settings:
    return request.app.state.settings


# scope="function": the transaction commits before the answer is sent. With FastAPI's default ("request") it
# would commit after, so a client could act on a 2xx before its write is visible, or get a 2xx for a write whose
# commit then fails (seen while fuzzing: two PUT /v1/policy in a row, the second's commit refused).
Session = Annotated[AsyncSession, Depends(session, scope="function")]
Temporal = Annotated[Client, Depends(temporal)]
AppSettings = Annotated[Settings, Depends(settings)]
