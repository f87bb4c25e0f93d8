"""Driving the API as its callers do: a service, an operator, nobody, and the sandbox."""

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx
from temporalio.client import Client

from domain.policy import DEFAULT_POLICY
from returnflow.settings import Settings
from tests.factories import NOW, new_order_id, order_body
from tests.histories_io import keep_history


@dataclass
class Callers:
    service: httpx.AsyncClient
    operator: httpx.AsyncClient
    anonymous: httpx.AsyncClient
    sandbox: httpx.AsyncClient
    temporal: Client
    settings: Settings = field(default_factory=Settings)


async def put_order(api: Callers, **overrides: Any) -> str:
    order_id = new_order_id()
    response = await api.service.put(f"/v1/orders/{order_id}", json=order_body(**overrides))
    assert response.status_code == 201, response.text
    return order_id


async def customer_token(api: Callers, customer_id: str) -> str:
    response = await api.service.post("/v1/customer-sessions", json={"customer_id": customer_id})
    assert response.status_code == 201, response.text
    return response.json()["token"]


def bearer_client(api: Callers, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=str(api.service.base_url), timeout=30, headers={"Authorization": f"Bearer {token}"}
    )


async def wait_for_status(api: Callers, return_id: str, status: str) -> dict:
    for _ in range(200):
        body = (await api.service.get(f"/v1/returns/{return_id}")).json()
        if body["status"] == status:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"{return_id} stayed {body['status']}, expected {status}")


async def carrier(api: Callers, tracking_number: str, event: str) -> httpx.Response:
    return await api.service.post(
        "/v1/carrier-events", json={"tracking_number": tracking_number, "event": event, "occurred_at": NOW.isoformat()}
    )


async def keep_return_history(api: Callers, return_id: str, name: str) -> None:
    await keep_history(api.temporal.get_workflow_handle(return_id), name)


async def default_policy(api: Callers) -> None:
    """Returns here are auto-approved: whatever policy an earlier test left, the default applies."""
    response = await api.service.put("/v1/policy", json=DEFAULT_POLICY.model_dump(mode="json"))
    assert response.status_code == 200, response.text
