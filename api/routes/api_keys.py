"""``DELETE /v1/api-keys/{key_id}``: revoke an API key (keys are created with the CLI)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from api.auth import Caller, allow
from api.problems import Problem
from store import audit
from store.api_keys import revoke_api_key

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])


@router.delete("/{key_id}", status_code=204, response_class=Response)
async def revoke_key(
    key_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")],
    request: Request,
    caller: Annotated[Caller, Depends(allow("service"))],
) -> Response:
    """Revoke a key by its id (``key_…``, not the secret). 404 if none is active.

    It stops working at once in this API process and within ``RETURNFLOW_API_KEY_CACHE_SECONDS`` in the
    others (``api/key_cache.py``): the revocation is committed before this process forgets the key, so no
    request here can look it up as live again."""
    async with request.app.state.database.transaction() as session:
        if not await revoke_api_key(session, key_id):
            raise Problem(404, f"no active API key {key_id}")
        await audit.record(session, caller.actor, "api_key.revoke", key_id)
    request.app.state.api_keys.forget(key_id)
    return Response(status_code=204)
