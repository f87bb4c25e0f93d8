"""The ledger against the payment provider (domain/reconciliation.py): which differences become tickets."""

from datetime import UTC, datetime, timedelta

import pytest

from connectors.payment_records import PaidOut
from domain.reconciliation import (
    Mismatch,
    Payout,
    ledger_mismatches,
    missing_in_ledger,
    provider_candidates,
    same_amount,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def payout(key: str = "rf_1", kind: str = "refund", minor: int = 1999, currency: str = "USD") -> Payout:
    return Payout(idempotency_key=key, kind=kind, amount_minor=minor, currency=currency, return_id="ret_1")


def paid(key: str = "rf_1", amount: str = "19.99", currency: str = "USD", created_at: datetime = NOW) -> PaidOut:
    return PaidOut(idempotency_key=key, amount=amount, currency=currency, reference="ret_1", created_at=created_at)


@pytest.mark.parametrize(
    ("row", "record", "same"),
    [
        (payout(), paid(), True),
        (payout(), paid(amount="19.990"), True),  # the same decimal, written longer
        (payout(), paid(currency="usd"), True),  # currency codes compare case-insensitively
        (payout(), paid(amount="19.98"), False),
        (payout(), paid(amount="20"), False),
        (payout(), paid(currency="EUR"), False),
        (payout(), paid(amount="nineteen"), False),  # unreadable is not the same
        (payout(), paid(amount=""), False),
        (payout(minor=1000, currency="JPY"), paid(amount="1000", currency="JPY"), True),  # no minor unit
        (payout(minor=1000, currency="JPY"), paid(amount="10.00", currency="JPY"), False),
        (payout(minor=12345, currency="BHD"), paid(amount="12.345", currency="BHD"), True),  # three digits
    ],
)
def test_amounts_are_compared_exactly_in_the_currencys_minor_units(row: Payout, record: PaidOut, same: bool) -> None:
    assert same_amount(row, record) is same


def test_a_ledger_row_the_provider_has_for_the_same_amount_is_no_mismatch() -> None:
    assert ledger_mismatches([payout()], {"refund": [paid()], "store_credit": []}) == []


def test_a_ledger_row_the_provider_lacks_is_missing_at_provider() -> None:
    [mismatch] = ledger_mismatches([payout()], {"refund": [], "store_credit": []})
    assert mismatch == Mismatch("missing_at_provider", "refund", "rf_1", "ret_1", "19.99 USD", None)
    assert mismatch.dedupe_key == "reconciliation:missing_at_provider:refund:rf_1"
    assert mismatch.summary == "the ledger has a refund of 19.99 USD (rf_1) the payment provider never made"


def test_a_record_of_the_other_kind_does_not_count() -> None:
    [mismatch] = ledger_mismatches([payout(kind="store_credit")], {"refund": [paid()], "store_credit": []})
    assert mismatch.problem == "missing_at_provider" and mismatch.kind == "store_credit"
    assert "store credit of 19.99 USD" in mismatch.summary


def test_another_amount_at_the_provider_is_amount_differs() -> None:
    [mismatch] = ledger_mismatches([payout()], {"refund": [paid(amount="18.00")]})
    assert mismatch == Mismatch("amount_differs", "refund", "rf_1", "ret_1", "19.99 USD", "18.00 USD")
    assert mismatch.summary == "refund rf_1: the ledger says 19.99 USD, the payment provider 18.00 USD"


def test_provider_records_count_only_between_the_window_start_and_the_grace_period() -> None:
    since, settled_before = NOW - timedelta(days=7), NOW - timedelta(hours=48)
    records = {
        "refund": [
            paid("too_old", created_at=since - timedelta(microseconds=1)),
            paid("first", created_at=since),
            paid("last", created_at=settled_before),
            paid("too_recent", created_at=settled_before + timedelta(microseconds=1)),
        ],
        "store_credit": [paid("naive", created_at=(NOW - timedelta(days=3)).replace(tzinfo=None))],
    }
    candidates = provider_candidates(records, since, settled_before)
    assert [(kind, record.idempotency_key) for kind, record in candidates] == [
        ("refund", "first"),
        ("refund", "last"),
        ("store_credit", "naive"),
    ]


def test_a_candidate_the_ledger_does_not_know_is_missing_in_ledger() -> None:
    candidates = [("refund", paid("rf_known")), ("store_credit", paid("sc_unknown", amount="5.00"))]
    [mismatch] = missing_in_ledger(candidates, known={"rf_known"})
    assert mismatch == Mismatch("missing_in_ledger", "store_credit", "sc_unknown", "ret_1", None, "5.00 USD")
    assert mismatch.summary == "the payment provider made a store credit of 5.00 USD (sc_unknown) the ledger lacks"
    assert missing_in_ledger(candidates, known={"rf_known", "sc_unknown"}) == []


def test_a_long_idempotency_key_is_hashed_into_the_dedupe_key() -> None:
    short = Mismatch("missing_at_provider", "refund", "k" * 180, None, "1.00 USD", None)
    long = Mismatch("missing_at_provider", "refund", "k" * 181, None, "1.00 USD", None)
    assert short.dedupe_key == "reconciliation:missing_at_provider:refund:" + "k" * 180
    hashed = long.dedupe_key.rsplit(":", 1)[1]
    assert len(hashed) == 64 and hashed != "k" * 181
    assert Mismatch("amount_differs", "refund", "k" * 181, None, None, None).dedupe_key.endswith(hashed)
