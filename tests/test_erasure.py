"""Erasing a customer: the personal data goes, the money records stay, Temporal never had it."""

import secrets

from returnflow.temporal import data_converter
from tests.api_client import Callers, put_order, wait_for_status
from tests.factories import return_body


async def test_erasure_removes_addresses_and_comments_but_keeps_the_money(api: Callers) -> None:
    token = "ERASE-" + secrets.token_hex(6)
    order_id = await put_order(
        api, shipping_address={"name": f"Ada {token}", "line1": f"1 {token} St", "city": "London", "country": "GB"}
    )
    body = return_body(
        order_id=order_id,
        lines=[
            {
                "line_id": "L1",
                "quantity": 1,
                "reason": "not_received",
                "comment": f"call me on {token}",
                "evidence": [f"https://photos.example/{token}.jpg"],
            }
        ],
        logistics={"method": "none"},
    )
    created = (await api.service.post("/v1/returns", json=body)).json()
    done = await wait_for_status(api, created["id"], "completed")
    notes = (await api.service.get(f"/v1/returns/{created['id']}")).json()["customer_notes"]
    assert token in notes[0]["comment"]

    # Even decrypted with the codec, the workflow's history never held the comment or the address.
    history = await api.temporal.get_workflow_handle(created["id"]).fetch_history()
    decoded = await data_converter().decode(
        [p for e in history.events for p in e.workflow_execution_started_event_attributes.input.payloads]
    )
    assert token not in repr(decoded)

    erased = await api.service.delete(f"/v1/customers/{done['customer_id']}/personal-data")

    assert erased.status_code == 200, erased.text
    assert erased.json()["addresses_removed"] == 1 and erased.json()["submissions_removed"] == 1
    after = (await api.service.get(f"/v1/returns/{created['id']}")).json()
    assert after["customer_notes"] == [] and after["money"], "the ledger keeps what accounting needs"
    order = (await api.service.get(f"/v1/orders/{order_id}")).json()
    assert order["shipping_address"] is None
    again = await api.service.delete(f"/v1/customers/{done['customer_id']}/personal-data")
    assert again.json()["addresses_removed"] == 0
    assert (await api.operator.delete(f"/v1/customers/{done['customer_id']}/personal-data")).status_code == 403
