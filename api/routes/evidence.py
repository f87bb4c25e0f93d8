"""``POST /v1/evidence``: a customer's photo of what it returns, checked, measured and kept."""

import asyncio
import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from pydantic import BaseModel

from api.auth import Caller, allow
from api.problems import Problem
from assist.photos import ACCEPTED_FORMATS, NotAnImage, TooManyPixels, read_photo
from store.evidence import save_evidence
from store.tables import EvidenceRow

router = APIRouter(prefix="/v1/evidence", tags=["evidence"])
# What a multipart body may carry beyond the photo itself (boundaries, part headers, the customer id).
MULTIPART_ENVELOPE_BYTES = 64 * 1024
PROBLEM_415: dict[int | str, dict[str, Any]] = {
    415: {
        "description": "Not an image in an accepted format (judged from its bytes)",
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
}


class StoredEvidence(BaseModel):
    id: str
    sha256: str
    width: int
    height: int


@router.post("", status_code=201, response_model=StoredEvidence, responses=PROBLEM_415)
async def upload_evidence(
    file: UploadFile,
    request: Request,
    caller: Annotated[Caller, Depends(allow("service", "customer"))],
    customer_id: Annotated[str | None, Form(min_length=1, max_length=128)] = None,
) -> StoredEvidence:
    """A photo (JPEG, PNG or WebP) for a return line's ``evidence``: pass the answer's ``id`` there.

    The type is judged from the bytes, not the name. Location data (EXIF GPS) is removed from what is
    kept; when the photo was taken is kept to check it against the delivery. A service names the
    customer it uploads for (``customer_id``); a customer uploads for itself. 413 over the size or
    pixel limit, 415 for anything that is not an accepted image.
    """
    owner = caller.customer_id if caller.role == "customer" else customer_id
    if owner is None:
        raise Problem(
            422,
            "a service names the customer the photo is for",
            [
                {
                    "field": "customer_id",
                    "code": "required_for_service",
                    "message": "customer_id is required for a service",
                }
            ],
        )
    settings = request.app.state.settings
    data = await file.read(settings.evidence_max_bytes + 1)
    if len(data) > settings.evidence_max_bytes:
        raise Problem(413, f"the photo is larger than the limit of {settings.evidence_max_bytes} bytes")
    try:
        # Decoding and hashing take milliseconds of CPU: off the event loop.
        photo = await asyncio.to_thread(read_photo, data, settings.evidence_max_pixels)
    except NotAnImage:
        accepted = ", ".join(sorted(ACCEPTED_FORMATS))
        raise Problem(415, f"the file is not an image in an accepted format ({accepted})") from None
    except TooManyPixels:
        raise Problem(413, f"the image has more than {settings.evidence_max_pixels} pixels") from None
    evidence_id = "ev_" + secrets.token_hex(10)
    files = request.app.state.evidence_files
    await files.put(evidence_id, photo.content)
    try:
        async with request.app.state.database.transaction() as session:
            await save_evidence(
                session,
                EvidenceRow(
                    id=evidence_id,
                    customer_id=owner,
                    sha256=photo.sha256,
                    phash=photo.perceptual_hash,
                    media_type=photo.media_type,
                    width=photo.width,
                    height=photo.height,
                    taken_at=photo.taken_at,
                    created_at=datetime.now(UTC),
                ),
            )
    except BaseException:
        await files.delete(evidence_id)  # no file without its row
        raise
    return StoredEvidence(id=evidence_id, sha256=photo.sha256, width=photo.width, height=photo.height)
