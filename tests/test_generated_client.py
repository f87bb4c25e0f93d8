"""A client generated from ``/openapi.json`` by openapi-python-client keeps every model and drives the API.

openapi-python-client is the most used Python generator. It names a model after its
schema's title, so two schemas of one model (``Policy-Input``/``Policy-Output``) are one
model too many: it drops them, and every operation answering with them loses its response
type. The app serves one schema per model (``separate_input_output_schemas=False``, and
amounts have one JSON Schema whether read or written); this generates the client offline
(the generator formats its output with the ruff of this virtualenv), checks the models and
response types are all there, and walks through the README's "Walk through a return with
curl" with it: sync an order, request a return, look at it, play the carrier, inspect,
see it completed.
"""

import asyncio
import importlib
import json
import os
import subprocess
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import pytest
from temporalio.client import Client

from api.app import create_app
from returnflow.settings import Settings
from tests.api_client import Callers, default_policy
from tests.factories import NOW, new_order_id

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "returnflow_client"
# Models that two schemas once made the generator drop, and the operations that lost their answer's type.
MODELS = ("Policy", "Payment", "CategoryRule", "RiskRules", "OrderIn", "OrderOut", "PolicyVersionOut", "ReturnView")
TYPED_ANSWERS = {
    "orders.get_order_v1_orders_order_id_get": "OrderOut",
    "orders.put_order_v1_orders_order_id_put": "OrderOut",
    "policy.get_policy_v1_policy_get": "PolicyVersionOut",
    "policy.put_policy_v1_policy_put": "PolicyVersionOut",
    "returns.create_return_v1_returns_post": "ReturnView",
    "returns.get_return_v1_returns_return_id_get": "ReturnWithMoney",
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client package generated from the document the app serves, imported."""
    workdir = tmp_path_factory.mktemp("client")
    document = create_app(Settings(), temporal=cast(Client, object())).openapi()
    (workdir / "openapi.json").write_text(json.dumps(document))
    result = subprocess.run(
        [str(GENERATOR), "generate", "--path", "openapi.json", "--meta", "none", "--output-path", PACKAGE],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        # The generator runs `ruff check --fix` and `ruff format` on what it wrote: this virtualenv's ruff.
        env={**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # Anything the generator could not turn into code is a warning (and is left out of the client).
    assert "Warning" not in output and "ruff is not in PATH" not in output, output
    sys.path.insert(0, str(workdir))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(workdir))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def part(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_every_model_is_generated(generated: ModuleType) -> None:
    models = part("models")
    missing = [name for name in MODELS if not hasattr(models, name)]
    assert not missing, f"the generated client has no {missing}"


@pytest.mark.parametrize(("operation", "model"), sorted(TYPED_ANSWERS.items()))
def test_operations_answer_with_typed_models(generated: ModuleType, operation: str, model: str) -> None:
    module = part(f"api.{operation}")
    answer = typing.get_type_hints(module.asyncio)["return"]
    assert getattr(part("models"), model) in typing.get_args(answer), answer


async def until(what: str, probe: Any, test: Any) -> Any:
    """Call ``probe`` until ``test`` holds for what it returns (a workflow moves on a moment later)."""
    for _ in range(200):
        value = await probe()
        if test(value):
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what}: still {value}")


async def test_the_readme_walk_through_with_the_generated_client(generated: ModuleType, api: Callers) -> None:
    models = part("models")
    put_order = part("api.orders.put_order_v1_orders_order_id_put")
    create_return = part("api.returns.create_return_v1_returns_post")
    get_return = part("api.returns.get_return_v1_returns_return_id_get")
    carrier_event = part("api.carrier.carrier_event_v1_carrier_events_post")
    inspect_return = part("api.returns.inspect_return_v1_returns_return_id_inspection_post")
    await default_policy(api)
    base_url = str(api.service.base_url)
    service_key = api.service.headers["authorization"].split()[1]
    service = generated.AuthenticatedClient(base_url, token=service_key)
    operator = generated.AuthenticatedClient(base_url, token=api.operator.headers["authorization"].split()[1])
    now = NOW.isoformat()

    # 1. Sync an order.
    order_id = new_order_id()
    order = models.OrderIn.from_dict(
        {
            "customer_id": "C42-" + order_id,
            "currency": "USD",
            "placed_at": now,
            "fulfillment_status": "delivered",
            "delivered_at": now,
            "lines": [
                {
                    "line_id": "L1",
                    "sku": "TEE-RED-M",
                    "product_id": "TEE",
                    "title": "Red tee",
                    "category": "apparel",
                    "kind": "physical",
                    "quantity": 2,
                    "unit_price": "19.99",
                }
            ],
            "payments": [{"payment_id": "p1", "method": "card", "amount": "39.98", "provider_ref": "ch_1"}],
            "shipping_address": {
                "name": "Ada Lovelace",
                "line1": "1 Main St",
                "city": "Springfield",
                "postal_code": "12345",
                "country": "US",
            },
        }
    )
    synced = await put_order.asyncio_detailed(order_id, client=service, body=order)
    assert synced.status_code == 201, synced.content
    assert isinstance(synced.parsed, models.OrderOut)
    assert synced.parsed.lines[0].returnable_quantity == 2
    assert isinstance(synced.parsed.payments[0], models.Payment)

    # 2. Request a return of one tee: approved at once.
    request = models.ReturnRequest.from_dict(
        {
            "order_id": order_id,
            "lines": [{"line_id": "L1", "quantity": 1, "reason": "defective", "comment": "seam came apart"}],
            "resolution": "refund",
            "logistics": {"method": "drop_off"},
            "channel": "api",
        }
    )
    once = generated.AuthenticatedClient(
        base_url, token=service_key, headers={"Idempotency-Key": f"demo-return-{order_id}"}
    )
    created = await create_return.asyncio_detailed(client=once, body=request)
    assert created.status_code == 201, created.content
    assert isinstance(created.parsed, models.ReturnView)
    assert created.parsed.decision.outcome == "auto_approved"
    return_id = created.parsed.id

    async def look() -> Any:
        answer = await get_return.asyncio(return_id, client=service)
        assert isinstance(answer, models.ReturnWithMoney), answer
        return answer

    # 3. Look at it: the shipment is booked.
    booked = await until("booking", look, lambda view: view.status == "awaiting_shipment")
    tracking = booked.logistics.tracking_number
    assert isinstance(tracking, str) and tracking

    # 4. Play the carrier: picked up, delivered to the warehouse.
    for event in ("picked_up", "delivered"):
        scan = models.CarrierEvent.from_dict(
            {"tracking_number": tracking, "event": event, "occurred_at": NOW.isoformat()}
        )
        answered = await carrier_event.asyncio_detailed(client=service, body=scan)
        assert answered.status_code == 202, answered.content
        assert isinstance(answered.parsed, models.CarrierEventAccepted)
    await until("receipt", look, lambda view: view.status == "received")

    # 5. Inspect the item, as warehouse staff.
    inspection = models.Inspection.from_dict(
        {
            "lines": [
                {
                    "line_id": "L1",
                    "condition": "damaged",
                    "disposition": "refurbish",
                    "note": "seam torn, as the customer said",
                }
            ]
        }
    )
    inspected = await inspect_return.asyncio_detailed(return_id, client=operator, body=inspection)
    assert inspected.status_code == 200, inspected.content

    # 6. See it completed, the refund made once.
    completed = await until("refund", look, lambda view: view.status == "completed")
    assert (completed.refund.status, completed.refund.amount) == ("succeeded", "19.99")
