"""Customers' comments and evidence links per return, and erasing a customer's personal data."""

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import CursorResult, Result, delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.privacy import SubmittedLine
from store.evidence import erase_customer_evidence
from store.tables import OrderRow, ReturnSubmission


async def save_submission(session: AsyncSession, return_id: str, customer_id: str, lines: list[SubmittedLine]) -> None:
    """Keep what the customer wrote (the caller writes only lines with something in them); a retry keeps the first."""
    if await session.get(ReturnSubmission, return_id) is None:
        session.add(
            ReturnSubmission(
                return_id=return_id,
                customer_id=customer_id,
                lines=[line.model_dump() for line in lines],
                created_at=datetime.now(UTC),
            )
        )


async def submission(session: AsyncSession, return_id: str) -> list[SubmittedLine]:
    row = await session.get(ReturnSubmission, return_id)
    return [SubmittedLine.model_validate(line) for line in row.lines] if row else []


async def forget_submission(session: AsyncSession, return_id: str) -> None:
    await session.execute(delete(ReturnSubmission).where(ReturnSubmission.return_id == return_id))


class Erasure(BaseModel):
    customer_id: str
    addresses_removed: int
    submissions_removed: int
    evidence_removed: int = Field(0, description="Evidence photos deleted (their files and rows).")
    erased_evidence_ids: list[str] = Field(default_factory=list, exclude=True)


async def erase_customer(session: AsyncSession, customer_id: str) -> Erasure:
    """Remove the customer's addresses and what it wrote; orders, returns and money records stay.

    Its evidence photos' rows go too (``evidence_removed``); the caller removes their files, named by
    ``erased_evidence_ids``."""
    addresses = await session.execute(
        update(OrderRow)
        .where(OrderRow.customer_id == customer_id, OrderRow.shipping_address.is_not(None))
        .values(shipping_address=None)
    )
    submissions = await session.execute(delete(ReturnSubmission).where(ReturnSubmission.customer_id == customer_id))
    photos = await erase_customer_evidence(session, customer_id)
    return Erasure(
        customer_id=customer_id,
        addresses_removed=_rowcount(addresses),
        submissions_removed=_rowcount(submissions),
        evidence_removed=len(photos),
        erased_evidence_ids=photos,
    )


def _rowcount(result: Result[Any]) -> int:
    # An UPDATE or DELETE comes back as a CursorResult; AsyncSession.execute is typed as returning a Result.
    assert isinstance(result, CursorResult)
    return result.rowcount
