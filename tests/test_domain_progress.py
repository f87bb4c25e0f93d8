"""A return's progress nodes (domain/progress.py): its own path, what is done, current, upcoming or skipped."""

from datetime import timedelta

from domain.progress import ProgressNode, progress
from domain.returns import Status, TimelineEntry
from tests.factories import T0
from tests.factories import view_through as view


def states(nodes: list[ProgressNode]) -> list[tuple[str, str]]:
    return [(node.key, node.state) for node in nodes]


def test_a_return_on_its_way_is_done_up_to_its_step_and_works_towards_the_next() -> None:
    nodes = progress(view(Status.REQUESTED, Status.APPROVED, Status.AWAITING_SHIPMENT, Status.IN_TRANSIT))
    assert states(nodes) == [
        ("requested", "done"),
        ("approved", "done"),
        ("picked_up", "done"),
        ("received", "current"),
        ("inspected", "upcoming"),
        ("refunded", "upcoming"),
    ]
    assert [node.at for node in nodes[:3]] == [T0, T0 + timedelta(hours=1), T0 + timedelta(hours=3)]
    assert nodes[3].at is None and nodes[0].label == "Requested" and nodes[2].label == "Picked up"


def test_a_return_waiting_for_review_works_towards_its_approval() -> None:
    assert states(progress(view(Status.REQUESTED, Status.UNDER_REVIEW)))[:2] == [
        ("requested", "done"),
        ("approved", "current"),
    ]


def test_a_completed_return_is_done_to_its_refund() -> None:
    steps = (Status.REQUESTED, Status.APPROVED, Status.AWAITING_SHIPMENT, Status.IN_TRANSIT, Status.RECEIVED)
    nodes = progress(view(*steps, Status.INSPECTED, Status.REFUND_PENDING, Status.COMPLETED))
    assert all(node.state == "done" for node in nodes) and len(nodes) == 6
    assert nodes[-1].key == "refunded" and nodes[-1].at == T0 + timedelta(hours=7)


def test_a_rejected_return_ends_rejected_and_skips_the_rest() -> None:
    nodes = progress(view(Status.REQUESTED, Status.UNDER_REVIEW, Status.REJECTED))
    assert states(nodes) == [
        ("requested", "done"),
        ("rejected", "done"),
        ("approved", "skipped"),
        ("picked_up", "skipped"),
        ("received", "skipped"),
        ("inspected", "skipped"),
        ("refunded", "skipped"),
    ]
    assert nodes[1].at == T0 + timedelta(hours=2)


def test_a_return_that_ships_nothing_back_has_no_parcel_nodes() -> None:
    nodes = progress(view(Status.REQUESTED, Status.APPROVED, Status.REFUND_PENDING, method="none"))
    assert states(nodes) == [("requested", "done"), ("approved", "done"), ("refunded", "current")]


def test_an_exchange_ends_when_its_replacement_ships() -> None:
    exchange = view(Status.REQUESTED, Status.APPROVED, Status.AWAITING_SHIPMENT, Status.IN_TRANSIT, type="exchange")
    assert states(progress(exchange))[-1] == ("replacement_shipped", "upcoming")
    shipped_at = T0 + timedelta(hours=4)
    exchange.timeline.append(TimelineEntry(status=Status.IN_TRANSIT, at=shipped_at, note="replacement shipped: TRK1"))
    nodes = progress(exchange)
    assert states(nodes)[3] == ("replacement_shipped", "done") and nodes[3].at == shipped_at
    assert nodes[3].label == "Replacement shipped"


def test_a_refund_only_claim_has_no_pickup_node() -> None:
    claim = view(Status.REQUESTED, Status.APPROVED, Status.REFUND_PENDING, method="none", type="refund_only")
    assert [key for key, _ in states(progress(claim))] == ["requested", "approved", "refunded"]


def test_a_canceled_return_skips_what_it_never_reached() -> None:
    nodes = progress(view(Status.REQUESTED, Status.APPROVED, Status.AWAITING_SHIPMENT, Status.CANCELED))
    assert states(nodes) == [
        ("requested", "done"),
        ("approved", "done"),
        ("canceled", "done"),
        ("picked_up", "skipped"),
        ("received", "skipped"),
        ("inspected", "skipped"),
        ("refunded", "skipped"),
    ]


def test_a_refund_paid_at_the_first_scan_shows_before_the_parcel_arrives() -> None:
    shipped = view(Status.REQUESTED, Status.APPROVED, Status.AWAITING_SHIPMENT, Status.IN_TRANSIT)
    shipped.refund.status = "succeeded"
    nodes = progress(shipped)
    assert states(nodes)[3:] == [("refunded", "done"), ("received", "current"), ("inspected", "upcoming")]
    assert nodes[3].at is None


def test_a_parcel_closed_as_lost_skips_receipt_and_inspection() -> None:
    nodes = progress(
        view(Status.REQUESTED, Status.APPROVED, Status.IN_TRANSIT, Status.NEEDS_ATTENTION, Status.COMPLETED)
    )
    assert states(nodes) == [
        ("requested", "done"),
        ("approved", "done"),
        ("picked_up", "done"),
        ("refunded", "done"),
        ("received", "skipped"),
        ("inspected", "skipped"),
    ]


def test_an_attention_keeps_the_step_it_stopped_at() -> None:
    steps = (Status.REQUESTED, Status.APPROVED, Status.IN_TRANSIT, Status.RECEIVED, Status.NEEDS_ATTENTION)
    assert ("inspected", "current") in states(progress(view(*steps)))
