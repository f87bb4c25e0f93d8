"""Evidence photos: what their ids look like and the checks that flag a return for review.

Pure: the API measures each photo (size, perceptual hash, when it was taken) and finds
the stored photos that look like it; these rules decide which of those facts are
worth a reviewer's attention, and say why in words.
"""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

EVIDENCE_ID_PATTERN = r"^ev_[0-9a-f]{20}$"
EvidenceId = Annotated[str, StringConstraints(pattern=EVIDENCE_ID_PATTERN)]
"""An uploaded photo's id, as ``POST /v1/evidence`` answers it (``ev_`` and 20 hex digits)."""

# Two 64-bit perceptual hashes this many bits apart or fewer are the same photo (resized,
# recompressed, cropped a little, colour-shifted). Chosen by `./scripts/bench assist`, which measures
# recall and false positives on a generated set (docs/assistance.md has the figures).
SAME_PHOTO_MAX_DISTANCE = 12
# Below this many pixels on the shorter side a photo shows too little to judge a claim by.
MIN_PHOTO_SIDE = 200


class PhotoMatch(BaseModel):
    """A stored photo that looks like the one submitted."""

    distance: int = Field(description="Bits between the perceptual hashes (0: identical).")
    other_customer: bool = Field(description="Uploaded by another customer.")
    return_id: str | None = Field(None, description="The other return it was submitted with, if any.")


class PhotoFacts(BaseModel):
    """What the API measured of one submitted photo."""

    evidence_id: str
    width: int
    height: int
    taken_at: datetime | None = None
    matches: list[PhotoMatch] = Field(default_factory=list)


def hamming_distance(first_hex: str, second_hex: str) -> int:
    """Bits that differ between two hashes written in hexadecimal."""
    return (int(first_hex, 16) ^ int(second_hex, 16)).bit_count()


def photo_findings(photos: list[PhotoFacts], delivered_at: datetime | None, return_id: str) -> list[str]:
    """Why a reviewer should look at these photos, in words; empty when nothing is suspicious."""
    findings: list[str] = []
    for photo in photos:
        findings += _same_photo_findings(photo, return_id)
        if delivered_at is not None and photo.taken_at is not None and photo.taken_at < delivered_at:
            findings.append(
                f"photo {photo.evidence_id} was taken on {photo.taken_at:%Y-%m-%d %H:%M}, "
                f"before the order was delivered on {delivered_at:%Y-%m-%d %H:%M}"
            )
        if min(photo.width, photo.height) < MIN_PHOTO_SIDE:
            findings.append(
                f"photo {photo.evidence_id} is too small to show anything ({photo.width}×{photo.height} pixels)"
            )
    return findings


def _same_photo_findings(photo: PhotoFacts, return_id: str) -> list[str]:
    findings = []
    if any(match.other_customer for match in photo.matches):
        findings.append(f"photo {photo.evidence_id} is the same as a photo another customer sent")
    used_on = sorted({m.return_id for m in photo.matches if m.return_id and m.return_id != return_id})
    if used_on:
        findings.append(f"photo {photo.evidence_id} was already used on another return ({', '.join(used_on)})")
    return findings
