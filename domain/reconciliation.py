"""Ledger reconciliation: the ledger's pay-outs against what the payment provider says it paid.

A difference (``Mismatch``) becomes a ticket, opened once per cause (``dedupe_key``).
"""

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Literal, Protocol, TypeVar

from domain.clock import as_utc
from domain.money import from_minor_units

Problem = Literal["missing_at_provider", "missing_in_ledger", "amount_differs"]


class ProviderRecord(Protocol):
    """One refund or store credit as the payment provider lists it (``connectors.payment_records.PaidOut``)."""

    @property
    def idempotency_key(self) -> str: ...

    @property
    def amount(self) -> str: ...  # a decimal string, as the provider sent it

    @property
    def currency(self) -> str: ...

    @property
    def reference(self) -> str | None: ...  # the return id

    @property
    def created_at(self) -> datetime: ...


RecordT = TypeVar("RecordT", bound=ProviderRecord)


@dataclass(frozen=True)
class Payout:
    """A ledger row of money paid out, as the reconciliation compares it."""

    idempotency_key: str
    kind: str  # refund | store_credit
    amount_minor: int
    currency: str
    return_id: str | None


@dataclass(frozen=True)
class Mismatch:
    problem: Problem
    kind: str
    idempotency_key: str
    return_id: str | None
    ledger: str | None
    provider: str | None

    @property
    def dedupe_key(self) -> str:
        key = self.idempotency_key
        if len(key) > 180:
            key = hashlib.sha256(key.encode()).hexdigest()
        return f"reconciliation:{self.problem}:{self.kind}:{key}"

    @property
    def summary(self) -> str:
        what = {"refund": "refund", "store_credit": "store credit"}.get(self.kind, self.kind)
        if self.problem == "missing_at_provider":
            return f"the ledger has a {what} of {self.ledger} ({self.idempotency_key}) the payment provider never made"
        if self.problem == "missing_in_ledger":
            return f"the payment provider made a {what} of {self.provider} ({self.idempotency_key}) the ledger lacks"
        return f"{what} {self.idempotency_key}: the ledger says {self.ledger}, the payment provider {self.provider}"


def same_amount(row: Payout, record: ProviderRecord) -> bool:
    """The provider paid exactly the ledger's amount, in its currency (an unreadable amount is not the same)."""
    try:
        theirs = Decimal(record.amount)
    except InvalidOperation:
        return False
    return record.currency.upper() == row.currency.upper() and theirs == from_minor_units(
        row.amount_minor, row.currency
    )


def _show(minor: int, currency: str) -> str:
    return f"{from_minor_units(minor, currency)} {currency}"


def ledger_mismatches(ledger: Iterable[Payout], paid: Mapping[str, Sequence[ProviderRecord]]) -> list[Mismatch]:
    """Ledger rows the provider does not have, or has for another amount."""
    by_key = {kind: {record.idempotency_key: record for record in records} for kind, records in paid.items()}
    found = []
    for row in ledger:
        record = by_key.get(row.kind, {}).get(row.idempotency_key)
        ours = _show(row.amount_minor, row.currency)
        if record is None:
            found.append(Mismatch("missing_at_provider", row.kind, row.idempotency_key, row.return_id, ours, None))
            continue
        if not same_amount(row, record):
            found.append(
                Mismatch(
                    "amount_differs",
                    row.kind,
                    row.idempotency_key,
                    row.return_id,
                    ours,
                    f"{record.amount} {record.currency}",
                )
            )
    return found


def provider_candidates(
    paid: Mapping[str, Sequence[RecordT]], since: datetime, settled_before: datetime
) -> list[tuple[str, RecordT]]:
    """Provider records old enough that the ledger must have them by now."""
    return [
        (kind, record)
        for kind, records in paid.items()
        for record in records
        if since <= as_utc(record.created_at) <= settled_before
    ]


def missing_in_ledger(candidates: Iterable[tuple[str, ProviderRecord]], known: set[str]) -> list[Mismatch]:
    """The candidates (``provider_candidates``) whose idempotency key the ledger does not know."""
    return [
        Mismatch(
            "missing_in_ledger",
            kind,
            record.idempotency_key,
            record.reference,
            None,
            f"{record.amount} {record.currency}",
        )
        for kind, record in candidates
        if record.idempotency_key not in known
    ]
