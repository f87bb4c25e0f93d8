"""The store under concurrent load, over HTTP on the real stack, on SQLite and on PostgreSQL.

Many creates at once, order upserts racing the claims of returns: never a 5xx,
never more units returned than bought.
"""

import asyncio

from tests.api_client import Callers, put_order
from tests.factories import order_body, return_body

TEE = order_body()["lines"][0]


def server_errors(answers: list) -> list[tuple[int, str]]:
    return [(a.status_code, a.text[:300]) for a in answers if a.status_code >= 500]


async def test_fifty_concurrent_creates_never_answer_a_server_error(api: Callers) -> None:
    order_id = await put_order(api, lines=[{**TEE, "quantity": 40}])
    body = return_body(order_id=order_id)

    answers = await asyncio.gather(*(api.service.post("/v1/returns", json=body) for _ in range(50)))

    assert not server_errors(answers), server_errors(answers)
    statuses = [a.status_code for a in answers]
    assert statuses.count(201) == 40 and statuses.count(422) == 10, sorted(statuses)
    order = (await api.service.get(f"/v1/orders/{order_id}")).json()
    assert order["lines"][0]["returnable_quantity"] == 0
    listed = (await api.service.get("/v1/returns", params={"order_id": order_id, "limit": 100})).json()["items"]
    assert len(listed) == 40
