"""Return metrics: what a merchant's dashboard shows."""

from datetime import timedelta

from domain.metrics import compute
from domain.returns import ReturnView
from tests.api_client import Callers, carrier, put_order, wait_for_status
from tests.factories import NOW, return_body


def _view(return_id: str, outcome: str, completed_after_hours: float | None, reason: str = "defective") -> ReturnView:
    timeline = [{"status": "requested", "at": NOW.isoformat()}]
    if completed_after_hours is not None:
        timeline.append({"status": "completed", "at": (NOW + timedelta(hours=completed_after_hours)).isoformat()})
    return ReturnView.model_validate(
        {
            "id": return_id,
            "order_id": "O1",
            "customer_id": "C",
            "status": "completed",
            "policy_version": 1,
            "lines": [{"line_id": "L1", "quantity": 1, "reason": reason, "liability": "merchant", "unit_price": "1"}],
            "decision": {"outcome": outcome},
            "logistics": {"method": "mail"},
            "refund": {"amount": "1", "currency": "USD"},
            "timeline": timeline,
            "created_at": NOW.isoformat(),
            "updated_at": NOW.isoformat(),
        }
    )


def test_rates_percentiles_and_categories() -> None:
    views = [
        _view("r1", "auto_approved", 10),
        _view("r2", "auto_approved", 30, "size_fit"),
        _view("r3", "approved", 50),
        _view("r4", "auto_approved", None),
    ]

    metrics = compute(
        views, orders=8, orders_by_category={"apparel": 8}, category_of_line={("O1", "L1"): "apparel"}, disputed={"r3"}
    )

    assert metrics.return_rate == 0.5 and metrics.auto_approval_rate == 0.75 and metrics.dispute_rate == 0.25
    assert (metrics.refund_hours_p50, metrics.refund_hours_p90) == (30.0, 50.0)
    assert metrics.reasons == {"defective": 3, "size_fit": 1}
    assert metrics.by_category["apparel"].returns == 4


async def test_metrics_over_http(api: Callers) -> None:
    order_id = await put_order(api)
    created = (await api.service.post("/v1/returns", json=return_body(order_id=order_id))).json()
    shipped = await wait_for_status(api, created["id"], "awaiting_shipment")
    await carrier(api, shipped["logistics"]["tracking_number"], "picked_up")

    response = await api.operator.get(
        "/v1/metrics/returns",
        params={"from": (NOW - timedelta(minutes=5)).isoformat(), "to": (NOW + timedelta(hours=1)).isoformat()},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["returns"] >= 1 and body["reasons"].get("defective", 0) >= 1
    assert "apparel" in body["by_category"]
    bad = await api.operator.get("/v1/metrics/returns", params={"from": NOW.isoformat(), "to": NOW.isoformat()})
    assert bad.status_code == 422
