"""Per-process resources, created in the lifespan and reached through ``app.state``."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from returnflow.settings import Settings


async def session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.database.transaction() as db_session:
        yield db_session


def temporal(request: Request) -> Client:
    return request.app.state.temporal


def settings(request: Request) -> Settings:
    return request.app.state.settings


Session = Annotated[AsyncSession, Depends(session)]
Temporal = Annotated[Client, Depends(temporal)]
AppSettings = Annotated[Settings, Depends(settings)]
