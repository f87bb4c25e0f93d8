"""The offered logistics methods in order of fit: fresh items by hand, a customer's habit first, each with why."""

from typing import Any

from domain.logistics_fit import methods_by_fit
from domain.orders import Order
from domain.returns import ReturnRequest
from tests.api_client import Callers, put_order
from tests.factories import order_body, return_body

OFFERED = ["pickup", "drop_off", "mail"]


def order(category: str = "apparel") -> Order:
    body: dict[str, Any] = order_body()
    body["lines"][0]["category"] = category
    return Order.model_validate({**body, "order_id": "O1"})


def request() -> ReturnRequest:
    return ReturnRequest.model_validate(return_body())


def test_fresh_items_go_back_by_pickup_or_drop_off_before_the_post() -> None:
    fits = methods_by_fit(OFFERED, order("fresh"), request(), {"mail": 5})
    assert [fit.method for fit in fits] == ["pickup", "drop_off", "mail"]
    assert fits[0].fit == "perishable" and "fresh" in fits[0].reason
    assert fits[2].fit == "default"


def test_a_customer_who_usually_drops_off_sees_drop_off_first() -> None:
    fits = methods_by_fit(OFFERED, order(), request(), {"drop_off": 3, "mail": 1})
    assert [fit.method for fit in fits] == ["drop_off", "pickup", "mail"]
    assert fits[0].reason == "the customer sent 3 earlier returns back this way"


def test_without_a_habit_the_order_stays() -> None:
    assert [f.method for f in methods_by_fit(OFFERED, order(), request(), {})] == OFFERED
    assert [f.method for f in methods_by_fit(OFFERED, order(), request(), {"drop_off": 1})] == OFFERED
    split = {"drop_off": 2, "mail": 2}
    assert [f.method for f in methods_by_fit(OFFERED, order(), request(), split)] == OFFERED
    # Only what is offered is ever recommended.
    assert [f.method for f in methods_by_fit(["none"], order("fresh"), request(), {})] == ["none"]


async def test_the_preview_orders_the_methods_by_the_customers_own_history(api: Callers) -> None:
    customer = order_body()["customer_id"]
    for _ in range(2):
        order_id = await put_order(api, customer_id=customer)
        body = return_body(order_id=order_id, logistics={"method": "drop_off"})
        assert (await api.service.post("/v1/returns", json=body)).status_code == 201
    order_id = await put_order(api, customer_id=customer)
    preview = (await api.service.post("/v1/returns/preview", json=return_body(order_id=order_id))).json()
    assert preview["logistics_methods"][0] == "drop_off"
    assert preview["logistics_fit"][0] == {
        "method": "drop_off",
        "fit": "habit",
        "reason": "the customer sent 2 earlier returns back this way",
    }
