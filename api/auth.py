"""Who is calling: ``Authorization: Bearer <API key>`` mapped to a role."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.problems import Problem
from store.api_keys import Role, find_key

bearer = HTTPBearer(auto_error=False, description="An API key (`returnflow keys create`).")


@dataclass(frozen=True)
class Caller:
    role: Role
    key_id: str

    @property
    def actor(self) -> str:
        """How the audit trail names this caller."""
        return f"{self.role}:{self.key_id}"


async def authenticate(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Caller:
    if credentials is None or not credentials.credentials:
        raise Problem(401, "send Authorization: Bearer <API key>", headers={"WWW-Authenticate": "Bearer"})
    async with request.app.state.database.sessions() as session:
        key = await find_key(session, credentials.credentials)
    if key is None:
        raise Problem(401, "the API key is unknown or revoked", headers={"WWW-Authenticate": "Bearer"})
    return Caller(role=key.role, key_id=key.id)  # type: ignore[arg-type]


def allow(*roles: Role):
    """A dependency that admits only ``roles`` (403 for the others)."""

    async def check(caller: Annotated[Caller, Depends(authenticate)]) -> Caller:
        if caller.role not in roles:
            raise Problem(403, f"the {caller.role} role may not do this")
        return caller

    return check
