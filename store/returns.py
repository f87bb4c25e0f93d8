"""The read model of returns and the claims returns hold on order lines."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from domain.policy import Policy
from domain.queues import status_since
from domain.returns import ReturnRequest, ReturnView, Status, status_changes
from domain.risk import RiskAssessment
from domain.simulation import RecordedReturn
from store import ledger, metrics, outbox
from store.cursor import BadCursor as BadCursor  # what list_returns raises for a cursor it did not hand out
from store.cursor import decode_keyset, encode_keyset
from store.orders import get_order
from store.policies import policy_version
from store.tables import LedgerEntry, OrderLineRow, ReturnClaim, ReturnRow, ReturnSubmission, table_of


class NotReturnable(Exception):
    def __init__(self, line_id: str):
        super().__init__(f"line {line_id} has no more returnable units")
        self.line_id = line_id


async def claim_units(session: AsyncSession, return_id: str, order_id: str, units: dict[str, int]) -> None:
    """Hold ``units`` (line id → quantity) for a return; a repeat for the same return is a no-op.

    Raises ``NotReturnable`` (and the caller's transaction rolls back) when a line
    has fewer units left than asked.
    """
    held = set((await session.scalars(select(ReturnClaim.line_id).where(ReturnClaim.return_id == return_id))).all())
    # Lines in one order (as upsert_order locks them): two writers never wait for each other crosswise.
    for line_id, quantity in sorted(units.items()):
        if line_id in held:
            continue
        claimed = await session.execute(
            update(OrderLineRow)
            .where(
                OrderLineRow.order_id == order_id,
                OrderLineRow.line_id == line_id,
                OrderLineRow.claimed_quantity + quantity <= OrderLineRow.quantity,
            )
            .values(claimed_quantity=OrderLineRow.claimed_quantity + quantity)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            raise NotReturnable(line_id)
        session.add(ReturnClaim(return_id=return_id, line_id=line_id, order_id=order_id, quantity=quantity))


async def release_units(session: AsyncSession, return_id: str) -> None:
    """Give back every unit a return holds (compensation); a repeat is a no-op."""
    claims = (
        await session.scalars(
            select(ReturnClaim).where(ReturnClaim.return_id == return_id).order_by(ReturnClaim.line_id)
        )
    ).all()
    for claim in claims:
        await session.execute(
            update(OrderLineRow)
            .where(OrderLineRow.order_id == claim.order_id, OrderLineRow.line_id == claim.line_id)
            .values(claimed_quantity=OrderLineRow.claimed_quantity - claim.quantity)
        )
    await session.execute(delete(ReturnClaim).where(ReturnClaim.return_id == return_id))


def queue_columns(view: ReturnView) -> dict[str, Any]:
    """The columns the operators' queues filter and sort on, kept beside the document."""
    return {
        "priority": view.priority,
        "attention_reason": view.attention.reason if view.attention else None,
        "status_since": status_since(view),
    }


def row_columns(view: ReturnView, revision: int) -> dict[str, Any]:
    """Everything a ``returns`` row holds of a view at ``revision`` (the request and the metric facts aside): the
    document and the columns lists filter on."""
    return dict(
        order_id=view.order_id,
        customer_id=view.customer_id,
        status=view.status.value,
        tracking_number=view.logistics.tracking_number,
        **queue_columns(view),
        document=view.model_dump(mode="json"),
        revision=revision,
        created_at=view.created_at,
        updated_at=view.updated_at,
    )


_RETURNS = table_of(ReturnRow)
# What a write needs of the stored row (its revision, what it replaces, its facts), locked until the commit: not
# the document, which the write replaces whole.
_STORED_STATE = (
    select(
        _RETURNS.c.revision,
        _RETURNS.c.status,
        _RETURNS.c.attention_reason,
        *(_RETURNS.c[name] for name in metrics.RETURN_FACT_COLUMNS),
    )
    .where(_RETURNS.c.id == bindparam("return_id"))
    .with_for_update()
)


@dataclass(frozen=True)
class Saved:
    """What a write replaced: the status and attention reason stored before it (both None for the first write)."""

    status_before: Status | None
    attention_before: str | None


async def save_return(
    session: AsyncSession,
    view: ReturnView,
    revision: int,
    request: ReturnRequest | None = None,
    passed: Sequence[Status] = (),
) -> Saved | None:
    """Write the workflow's view of a return unless a newer revision is already stored.

    ``request`` (what the caller asked for) is kept from the first write on. A write
    that changes the status (the first write included) records its event in the
    outbox, in the same transaction, and so does each status in ``passed`` (those the
    return showed and left since its previous write); a retried write of a stored
    revision changes nothing, so it announces nothing twice. The metric facts are kept
    with the row. Returns what the write replaced, or None when it wrote nothing (a retry,
    an older revision): the transitions counted once, whatever the retries
    (``returnflow.metrics.count_transition``).
    """
    stored = (await session.execute(_STORED_STATE, {"return_id": view.id})).first()
    fields = row_columns(view, revision)
    if stored is None:
        await session.execute(
            insert(_RETURNS).values(
                id=view.id,
                request=request.model_dump(mode="json") if request else None,
                **fields,
                **metrics.return_fact_columns(view),
            )
        )
        await metrics.add_line_facts(session, view)
        await outbox.announce(session, view, [*passed, view.status])
        return Saved(status_before=None, attention_before=None)
    if stored.revision < revision:
        saved = Saved(status_before=Status(stored.status), attention_before=stored.attention_reason)
        facts = await metrics.update_return_facts(session, view.id, stored._asdict(), view)
        await session.execute(update(_RETURNS).where(_RETURNS.c.id == view.id).values(**fields, **facts))
        if changes := status_changes(Status(stored.status), [*passed, view.status]):
            await outbox.announce(session, view, changes)
        return saved
    return None


async def rewrite_return(session: AsyncSession, view: ReturnView) -> str | None:
    """Drift repair: make the stored row say what the return's workflow says; None when it already does.

    Returns the status it replaced. The revision stays, so the workflow's next write
    still wins; a changed status is announced like any other.
    """
    row = await session.get(ReturnRow, view.id, with_for_update=True)
    document = view.model_dump(mode="json")
    if row is None or (row.status == view.status.value and row.document == document):
        return None
    previous = row.status
    facts = await metrics.update_return_facts(
        session, row.id, {name: getattr(row, name) for name in metrics.RETURN_FACT_COLUMNS}, view
    )
    for name, value in (row_columns(view, row.revision) | facts).items():
        setattr(row, name, value)
    if previous != view.status.value:
        await outbox.announce(session, view)
    return previous


async def get_return(session: AsyncSession, return_id: str) -> ReturnView | None:
    # The document alone: the row also holds the request and the metric facts, which would be read and decoded.
    document = await session.scalar(select(ReturnRow.document).where(ReturnRow.id == return_id))
    return ReturnView.model_validate(document) if document is not None else None


@dataclass(frozen=True)
class StoredReturn:
    """A return's view as stored (JSON), whose it is, what its customer wrote (``store.submissions``) and its
    money (``store.ledger``)."""

    document: dict[str, Any]
    customer_id: str
    submitted_lines: list[Any]
    money: list[ledger.MoneyLine]


# Built once: constructing it at every GET took about 7 % of the API process's time under reads (py-spy).
_STORED_RETURN = (
    select(ReturnRow.document, ReturnRow.customer_id, ReturnSubmission.lines, *ledger.MONEY_LINE_COLUMNS)
    .outerjoin(ReturnSubmission, ReturnSubmission.return_id == ReturnRow.id)
    .outerjoin(LedgerEntry, LedgerEntry.return_id == ReturnRow.id)
    .where(ReturnRow.id == bindparam("return_id"))
    .order_by(LedgerEntry.id)
)


async def stored_return(connection: AsyncConnection, return_id: str) -> StoredReturn | None:
    """The return, its submission and its ledger rows in one statement: ``GET /v1/returns/{id}`` asks at every
    call, so it is one round trip, needing no transaction around it (``Database.reading``). The return's
    columns repeat on each of its few ledger rows."""
    rows = (await connection.execute(_STORED_RETURN, {"return_id": return_id})).all()
    if not rows:
        return None
    first = rows[0]
    return StoredReturn(
        document=first.document,
        customer_id=first.customer_id,
        submitted_lines=first.lines or [],
        money=[ledger.money_line(row) for row in rows if row.idempotency_key is not None],
    )


async def return_request(session: AsyncSession, return_id: str) -> ReturnRequest | None:
    """What the return was asked with (the pickup slot, the channel); None for a return stored without it."""
    request = await session.scalar(select(ReturnRow.request).where(ReturnRow.id == return_id))
    return ReturnRequest.model_validate(request) if request else None


async def find_by_tracking_number(session: AsyncSession, tracking_number: str) -> str | None:
    return await session.scalar(select(ReturnRow.id).where(ReturnRow.tracking_number == tracking_number))


@dataclass(frozen=True)
class ReturnFilter:
    status: str | None = None
    order_id: str | None = None
    customer_id: str | None = None
    tracking_number: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    # Any id at all: the returns whose own id, order id, customer id or tracking number it is exactly.
    any_id: str | None = None


def returns_query(where: ReturnFilter, cursor: str | None) -> Select[ReturnRow]:
    """The returns ``where`` selects, newest first, after ``cursor`` (keyset on (created_at, id)); raises
    ``BadCursor``. Each filter has an index that gives its rows in this order (ix_returns_*_created)."""
    query = select(ReturnRow)
    for column, value in (
        (ReturnRow.status, where.status),
        (ReturnRow.order_id, where.order_id),
        (ReturnRow.customer_id, where.customer_id),
        (ReturnRow.tracking_number, where.tracking_number),
    ):
        if value is not None:
            query = query.where(column == value)
    if where.any_id is not None:
        query = query.where(
            or_(
                *(
                    column == where.any_id
                    for column in (ReturnRow.id, ReturnRow.order_id, ReturnRow.customer_id, ReturnRow.tracking_number)
                )
            )
        )
    if where.created_from:
        query = query.where(ReturnRow.created_at >= where.created_from)
    if where.created_to:
        query = query.where(ReturnRow.created_at < where.created_to)
    if cursor:
        after_created, [after_id] = decode_keyset(cursor, ids=1)
        query = query.where(
            or_(
                ReturnRow.created_at < after_created,
                and_(ReturnRow.created_at == after_created, ReturnRow.id < after_id),
            )
        )
    return query.order_by(ReturnRow.created_at.desc(), ReturnRow.id.desc())


async def list_returns(
    session: AsyncSession, where: ReturnFilter, limit: int, cursor: str | None
) -> tuple[list[ReturnView], str | None]:
    """Newest first, keyset-paginated on (created_at, id)."""
    rows = (await session.scalars(returns_query(where, cursor).limit(limit + 1))).all()
    page = rows[:limit]
    next_cursor = encode_keyset(page[-1].created_at, page[-1].id) if len(rows) > limit else None
    return [ReturnView.model_validate(row.document) for row in page], next_cursor


async def recorded_returns(
    session: AsyncSession, created_from: datetime | None, created_to: datetime | None, limit: int
) -> list[RecordedReturn]:
    """Returns of a period with what they asked for, their order and the policy they ran under."""
    query = select(ReturnRow).where(ReturnRow.request.is_not(None))
    if created_from:
        query = query.where(ReturnRow.created_at >= created_from)
    if created_to:
        query = query.where(ReturnRow.created_at < created_to)
    rows = (await session.scalars(query.order_by(ReturnRow.created_at.desc()).limit(limit))).all()
    policies: dict[int, Policy] = {}
    recorded = []
    for row in rows:
        view = ReturnView.model_validate(row.document)
        found = await get_order(session, row.order_id)
        if found is None:
            continue
        if view.policy_version not in policies:
            policies[view.policy_version] = await policy_version(session, view.policy_version)
        recorded.append(
            RecordedReturn(
                return_id=row.id,
                order=found[0],
                request=ReturnRequest.model_validate(row.request),
                requested_at=view.created_at,
                policy_version=view.policy_version,
                policy=policies[view.policy_version],
                risk=RiskAssessment(level=view.decision.risk, reasons=view.decision.risk_reasons),
            )
        )
    return recorded
