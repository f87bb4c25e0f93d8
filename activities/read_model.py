"""Activities that write the read model, hold or release returnable units, and claim tenders for refunds."""

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.ledger import MoneyMovement
from domain.money import to_minor_units
from domain.returns import ReturnRequest, ReturnView
from messages.errors import ErrorType
from messages.return_activities import (
    CLAIM_TENDERS,
    OPEN_RETURN,
    OPEN_TICKET,
    RECORD_MONEY,
    REFUNDED_SO_FAR,
    RELEASE_TENDER_CLAIMS,
    RELEASE_UNITS,
    RESOLVE_TICKET,
    SAVE_RETURN,
    ClaimTenders,
    OpenReturn,
    OpenTicket,
    OrderRefunds,
    RecordMoney,
    RefundedSoFar,
    ReleaseTenderClaims,
    RequestedBy,
    ResolveTicket,
    ReturnRef,
    SnapshotOfReturn,
    TenderClaimed,
    TenderClaims,
)
from returnflow.metrics import count_money, count_transition
from store import audit, ledger, returns, tender_claims, tickets
from store.db import Database
from store.write_batches import WriteBatches

# At most this many saves in one transaction: a batch holds SQLite's write lock for all of them (about 8 ms
# each under load), and the API's writes wait meanwhile.
SAVES_A_BATCH = 8


class ReadModelActivities:
    def __init__(self, database: Database):
        self._database = database
        # Saves of returns that arrive together share a transaction on SQLite (store/write_batches.py).
        self._saves = WriteBatches(database, most=SAVES_A_BATCH)

    @activity.defn(name=OPEN_RETURN.name)
    async def open_return(self, opening: OpenReturn) -> None:
        """Claim the returned units and write the first row, with its audit entry; all or nothing. Alone, not in
        a batch of saves: a create waits for it (batched with the saves, creates took longer and returns/s did
        not rise)."""
        try:
            async with self._database.transaction() as session:
                await returns.claim_units(session, opening.view.id, opening.view.order_id, opening.units)
                saved, recorded = await _save(session, opening, request=opening.request)
                if saved is not None and opening.requested_by is not None:  # not again when a retry wrote nothing
                    await _audit_creation(session, opening.view, opening.requested_by, opening.request)
        except returns.NotReturnable as refusal:
            detail = {"line_id": refusal.line_id, "code": "quantity_exceeds_returnable", "message": str(refusal)}
            raise ApplicationError(str(refusal), detail, type=ErrorType.NOT_RETURNABLE, non_retryable=True) from None
        _count(opening.view, saved, recorded, channel=opening.request.channel if opening.request else None)

    @activity.defn(name=SAVE_RETURN.name)
    async def save_return(self, snapshot: SnapshotOfReturn) -> None:
        """The view, and the money moved since the previous write, in one transaction."""
        saved, recorded = await self._saves.write(lambda session: _save(session, snapshot))
        _count(snapshot.view, saved, recorded)

    @activity.defn(name=RELEASE_UNITS.name)
    async def release_units(self, ref: ReturnRef) -> None:
        async with self._database.transaction() as session:
            await returns.release_units(session, ref.return_id)

    @activity.defn(name=RECORD_MONEY.name)
    async def record_money(self, record: RecordMoney) -> None:
        async with self._database.transaction() as session:
            recorded = await _record_movements(session, record.return_id, record.order_id, record.movements)
        for movement in recorded:
            count_money(movement)

    @activity.defn(name=REFUNDED_SO_FAR.name)
    async def refunded_so_far(self, query: OrderRefunds) -> RefundedSoFar:
        async with self._database.sessions() as session:
            return RefundedSoFar(
                per_payment=await ledger.refunded_per_payment(session, query.order_id, query.excluding_return_id)
            )

    @activity.defn(name=CLAIM_TENDERS.name)
    async def claim_tenders(self, wanted: ClaimTenders) -> TenderClaims:
        """All or nothing; a tender that changed under the claim fails it, and Temporal retries it whole."""
        async with self._database.transaction() as session:
            claimed = await tender_claims.claim(
                session, wanted.return_id, wanted.order_id, wanted.amount, wanted.currency, wanted.payment_ids
            )
        return TenderClaims(
            claims=[
                TenderClaimed(payment_id=c.payment_id, amount=c.amount, idempotency_key=c.idempotency_key)
                for c in claimed
            ]
        )

    @activity.defn(name=RELEASE_TENDER_CLAIMS.name)
    async def release_tender_claims(self, release: ReleaseTenderClaims) -> None:
        async with self._database.transaction() as session:
            await tender_claims.release(session, release.idempotency_keys)

    @activity.defn(name=OPEN_TICKET.name)
    async def open_ticket(self, ticket: OpenTicket) -> None:
        async with self._database.transaction() as session:
            await tickets.open_ticket(
                session,
                kind=ticket.kind,
                summary=ticket.summary,
                return_id=ticket.return_id,
                details=dict(ticket.details),
                dedupe_key=ticket.dedupe_key,
            )

    @activity.defn(name=RESOLVE_TICKET.name)
    async def resolve_ticket(self, ticket: ResolveTicket) -> None:
        async with self._database.transaction() as session:
            await tickets.resolve_ticket_by_key(session, ticket.dedupe_key, ticket.resolution)

    def all(self) -> list:
        return [
            self.open_return,
            self.save_return,
            self.release_units,
            self.record_money,
            self.open_ticket,
            self.refunded_so_far,
            self.resolve_ticket,
            self.claim_tenders,
            self.release_tender_claims,
        ]


async def _save(
    session: AsyncSession, snapshot: SnapshotOfReturn, request: ReturnRequest | None = None
) -> tuple[returns.Saved | None, list[MoneyMovement]]:
    """The snapshot's view (unless a newer revision is stored) and its money movements."""
    view = snapshot.view
    saved = await returns.save_return(session, view, snapshot.revision, request=request, passed=snapshot.passed)
    return saved, await _record_movements(session, view.id, view.order_id, snapshot.money)


async def _audit_creation(
    session: AsyncSession, view: ReturnView, asked: RequestedBy, request: ReturnRequest | None
) -> None:
    """The audit entry ``return.create``: who asked, and what the policy decided for them."""
    await audit.record(
        session,
        asked.actor,
        "return.create",
        view.id,
        outcome=view.decision.outcome,
        rules=view.decision.rules,
        risk=view.decision.risk,
        risk_reasons=view.decision.risk_reasons,
        policy_version=view.policy_version,
        override_reason=request.override_reason if request is not None and request.override else None,
        overridden=[rule.model_dump() for rule in asked.overridden],
    )


def _count(
    view: ReturnView, saved: returns.Saved | None, recorded: list[MoneyMovement], channel: str | None = None
) -> None:
    """The business metrics of a committed write."""
    count_transition(view, saved, channel=channel)
    for movement in recorded:
        count_money(movement)


async def _record_movements(
    session: AsyncSession, return_id: str, order_id: str, movements: list[MoneyMovement]
) -> list[MoneyMovement]:
    """Write the movements the ledger does not hold yet (by idempotency key); the ones written."""
    recorded = []
    for movement in movements:
        if movement.kind == "refund" and movement.payment_id:
            # Paid by a return that was already paying out before tender claims: count it now.
            await tender_claims.count_unclaimed_refund(
                session,
                movement.idempotency_key,
                return_id,
                order_id,
                movement.payment_id,
                to_minor_units(movement.amount, movement.currency),
            )
        added = await ledger.record_movement(
            session,
            return_id,
            order_id,
            idempotency_key=movement.idempotency_key,
            kind=movement.kind,
            amount=movement.amount,
            currency=movement.currency,
            payment_id=movement.payment_id,
            provider_ref=movement.provider_ref,
            credit_note=movement.credit_note,
            items=movement.items,
        )
        if added:
            recorded.append(movement)
    return recorded
