"""Evidence photos' rows: saving an upload, finding the photos a return submits and the stored ones that
look like them, marking them used, and erasing a customer's."""

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.clock import as_utc
from domain.evidence import SAME_PHOTO_MAX_DISTANCE, PhotoFacts, PhotoMatch, hamming_distance
from store.tables import EvidenceRow


async def save_evidence(session: AsyncSession, row: EvidenceRow) -> None:
    session.add(row)


async def customer_evidence(session: AsyncSession, customer_id: str, evidence_ids: list[str]) -> list[EvidenceRow]:
    """The customer's photos among ``evidence_ids`` (another customer's are not found)."""
    if not evidence_ids:
        return []
    rows = await session.scalars(
        select(EvidenceRow).where(EvidenceRow.id.in_(evidence_ids), EvidenceRow.customer_id == customer_id)
    )
    return list(rows)


async def photo_facts(session: AsyncSession, photos: list[EvidenceRow]) -> list[PhotoFacts]:
    """Each photo with the stored photos that look like it: another upload within the same-photo distance,
    or the photo itself when an earlier return already used it.

    Every stored hash is compared here, in Python (neither database counts bits of a hex string); a shop's
    photos number in the tens of thousands, a few milliseconds of XOR. A far larger store would want a
    multi-index hash table or a BK-tree instead.
    """
    if not photos:
        return []
    stored = (
        await session.execute(select(EvidenceRow.id, EvidenceRow.customer_id, EvidenceRow.return_id, EvidenceRow.phash))
    ).all()
    facts = []
    for photo in photos:
        matches = []
        for other_id, other_customer, other_return, other_hash in stored:
            distance = hamming_distance(photo.phash, other_hash)
            if distance > SAME_PHOTO_MAX_DISTANCE or (other_id == photo.id and other_return is None):
                continue
            matches.append(
                PhotoMatch(
                    distance=distance, other_customer=other_customer != photo.customer_id, return_id=other_return
                )
            )
        facts.append(
            PhotoFacts(
                evidence_id=photo.id,
                width=photo.width,
                height=photo.height,
                taken_at=as_utc(photo.taken_at) if photo.taken_at else None,
                matches=matches,
            )
        )
    return facts


async def mark_used(session: AsyncSession, evidence_ids: list[str], return_id: str) -> None:
    """Remember the first return each photo was submitted with (later ones find it through it)."""
    if evidence_ids:
        await session.execute(
            update(EvidenceRow)
            .where(EvidenceRow.id.in_(evidence_ids), EvidenceRow.return_id.is_(None))
            .values(return_id=return_id)
        )


async def erase_customer_evidence(session: AsyncSession, customer_id: str) -> list[str]:
    """Delete the customer's photo rows; their ids, so that the caller removes the files."""
    ids = list(await session.scalars(select(EvidenceRow.id).where(EvidenceRow.customer_id == customer_id)))
    if ids:
        await session.execute(delete(EvidenceRow).where(EvidenceRow.id.in_(ids)))
    return ids
