"""The idempotency key of every call that moves money or goods, derived from the return and the step.

A retried activity or a replayed workflow computes the same key, so the partner
(payment provider, carrier, warehouse) recognises the call and does it once. The
ledger uses the same keys for its rows, and reconciliation matches on them: a
format here is a contract with data already written, so never change one.
"""


def refund_key(return_id: str, payment_id: str) -> str:
    """One key per return and tender: a retried or replayed refund can never pay out twice."""
    return f"{return_id}:refund:{payment_id}"


def store_credit_key(return_id: str) -> str:
    """The store credit a return pays when the customer chose it (or an exchange fell back to it)."""
    return f"{return_id}:store_credit"


def fallback_store_credit_key(return_id: str, refused_payment_id: str) -> str:
    """Store credit paid instead of a refund that ``refused_payment_id`` declined."""
    return f"{return_id}:fallback:{refused_payment_id}"


def outside_refund_key(return_id: str) -> str:
    """The ledger row of a refund a person made outside returnflow and marked as made."""
    return f"{return_id}:refund_outside"


def store_credit_instead_key(return_id: str) -> str:
    """Store credit a person chose instead of a refund that failed (``refund_as_store_credit``); one key
    for every attempt, so a retry after an unclear failure can never pay twice."""
    return f"{return_id}:store_credit_instead"


def fee_key(return_id: str, fee_kind: str, occurrence: int = 1) -> str:
    """A fee kept from the refund; a return can carry one fee of a kind per line (restocking), counted
    from 1 in the order of the fees (the first keeps the plain key rows were first written with)."""
    return f"{return_id}:fee:{fee_kind}" if occurrence == 1 else f"{return_id}:fee:{fee_kind}:{occurrence}"


def deduction_key(return_id: str, line_id: str) -> str:
    return f"{return_id}:deduction:{line_id}"


def deposit_kept_key(return_id: str) -> str:
    return f"{return_id}:deposit_kept"


def credit_note_number(return_id: str, number: int) -> str:
    """The ``number``-th credit note of a return (one per successful payment)."""
    return f"CN-{return_id}-{number}"


def shipment_key(return_id: str, booking: int = 1) -> str:
    """The return's carrier booking; a rebooking (after a missed pickup) is a booking of its own."""
    return f"{return_id}:shipment" if booking == 1 else f"{return_id}:shipment:{booking}"


def intake_key(return_id: str) -> str:
    return f"{return_id}:intake"


def intercept_key(return_id: str) -> str:
    return f"{return_id}:intercept"


def revocation_key(return_id: str, line_id: str) -> str:
    return f"{return_id}:revoke:{line_id}"


def reservation_key(return_id: str, line_id: str) -> str:
    return f"{return_id}:reserve:{line_id}"


def return_to_customer_key(return_id: str, line_id: str) -> str:
    """The carrier booking that ships a line back to the customer after inspection."""
    return f"{return_id}:to_customer:{line_id}"


def payment_request_key(return_id: str) -> str:
    """The payment request that collects an exchange's price difference (a dearer replacement)."""
    return f"{return_id}:payment_request"


def hold_key(return_id: str) -> str:
    """The authorization hold of an instant exchange."""
    return f"{return_id}:hold"


def hold_capture_key(return_id: str) -> str:
    return f"{return_id}:hold:capture"


def hold_void_key(return_id: str) -> str:
    return f"{return_id}:hold:void"


def compensation_key(return_id: str, reason: str, breach: int) -> str:
    """The ``breach``-th compensation for a missed deadline of ``reason``: issued once, whatever the retries."""
    return f"{return_id}:compensation:{reason}:{breach}"


def urge_notice_key(return_id: str, urge: int) -> str:
    """The operators' notice of the ``urge``-th urge of a return."""
    return f"{return_id}:urge:{urge}"
