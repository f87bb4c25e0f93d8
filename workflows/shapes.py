"""Which shape of the saga a run follows, so that a new run pays for no patch marker.

Every change to the saga is guarded by a patch (``workflow.patched``) so that the runs already
in flight, and the recorded histories, replay the code they ran. But a patch costs a marker
event in every new history, forever, and a history is what Temporal stores and bills. So a run
started by the current API says in its input which shape it follows (``StartReturn.shape``):
every patch of that shape or before is simply on, with no marker, and only runs started before
the shape existed (no ``shape`` in their input) ask ``workflow.patched`` as they always did.

A change made after the newest shape is guarded by a patch as usual; when the next shape is
declared, its patches join ``PATCHES_OF_SHAPE`` and new runs stop paying for them.
"""

from temporalio import workflow

# Shape 1: every patch made before shapes existed; and partner calls tried as local activities first
# (workflows/calls.py), the read model and search attributes written once per workflow task (return_record.py).
PATCHES_OF_SHAPE: dict[int, frozenset[str]] = {
    1: frozenset(
        {
            "sla-compensation",
            "exchange-price-difference",
            "instant-exchange",
            "money-ledger",
            "tender-claims",
            "return-to-customer-shipment",
            "refusal-completes",
            "missed-pickup-attention",
            "priority-search-attribute",
            "attention-actions",
            "urge-hurries-transit",
        }
    ),
    # Shape 2: search attributes upserted only when one changed (return_record.py); with the status a return
    # waits in first set by its start (messages/search_attributes.at_start), its first task upserts nothing.
    2: frozenset(),
}


def shape() -> int:
    """The shape the running return workflow was started with (0: from before shapes)."""
    return int(getattr(workflow.instance(), "shape", 0))


def at_least(number: int) -> bool:
    """The run follows shape ``number`` or a later one (what a shape brings besides its patches)."""
    return shape() >= number


def patched(patch_id: str) -> bool:
    """``workflow.patched``, answered without a marker for a run whose shape includes the patch."""
    if any(patch_id in patches for number, patches in PATCHES_OF_SHAPE.items() if number <= shape()):
        return True
    return workflow.patched(patch_id)
