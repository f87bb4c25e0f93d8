"""The HTTP script: a backend, a carrier and a warehouse driving returns to ``completed``.

For each return, exactly as those parties would over the public API:

    POST /v1/returns                       (service)   -> 201, auto-approved
    GET  /v1/returns/{id} until awaiting_shipment      -> tracking number (the 201's when it shows it)
         (POST /v1/returns/{id}/review approve first, when it waits for review)
    POST /v1/carrier-events picked_up, then delivered   (service)
    GET  /v1/returns/{id} until received
    POST /v1/returns/{id}/inspection        (operator)
    GET  /v1/returns/{id} until completed

Orders are PUT beforehand (timed on their own, not part of returns/s).
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.http_client import Answer, JsonClient, NoAnswer


class StuckReturn(Exception):
    pass


@dataclass
class ReturnRun:
    """One return's clock readings (``time.perf_counter`` seconds) and step latencies."""

    return_id: str = ""
    started: float = 0.0  # just before POST /v1/returns
    finished: float = 0.0  # when GET first showed completed
    create: float = 0.0  # POST /v1/returns
    to_shipment: float = 0.0  # from the 201 until awaiting_shipment is visible
    carrier: float = 0.0  # both carrier-event POSTs
    to_received: float = 0.0  # from the delivered scan until received is visible
    inspection: float = 0.0  # POST inspection
    to_completed: float = 0.0  # from the inspection's answer until completed is visible
    polls: int = 0
    requests: int = 0


@dataclass
class ReturnsResult:
    runs: list[ReturnRun]
    failures: list[str] = field(default_factory=list)

    @property
    def wall(self) -> float:
        """First create to last completed."""
        if not self.runs:
            return 0.0
        return max(r.finished for r in self.runs) - min(r.started for r in self.runs)


def order_body(
    customer_id: str, *, unit_price: str = "19.99", delivered_days_ago: float = 2.0, title: str = "Red tee"
) -> dict[str, Any]:
    """A delivered one-line order (line ``L1``), placed three days before its delivery."""
    now = datetime.now(UTC)
    return {
        "customer_id": customer_id,
        "currency": "USD",
        "placed_at": (now - timedelta(days=delivered_days_ago + 3)).isoformat(),
        "fulfillment_status": "delivered",
        "delivered_at": (now - timedelta(days=delivered_days_ago)).isoformat(),
        "lines": [
            {
                "line_id": "L1",
                "sku": "TEE-RED-M",
                "product_id": "TEE",
                "title": title,
                "category": "apparel",
                "kind": "physical",
                "quantity": 1,
                "unit_price": unit_price,
            }
        ],
        "payments": [{"payment_id": "p1", "method": "card", "amount": unit_price, "provider_ref": "ch_bench"}],
        "shipping_address": {
            "name": "Ada Lovelace",
            "line1": "1 Analytical St",
            "city": "London",
            "postal_code": "N1 1AA",
            "country": "GB",
        },
    }


RETURN_BODY = {
    "lines": [{"line_id": "L1", "quantity": 1, "reason": "defective"}],
    "resolution": "refund",
    "logistics": {"method": "mail"},
    "channel": "api",
}
INSPECTION = {"lines": [{"line_id": "L1", "condition": "as_new", "disposition": "restock"}]}


class Driver:
    def __init__(
        self,
        api_url: str,
        service_key: str,
        operator_key: str,
        *,
        poll_interval: float = 0.02,
        step_timeout: float = 60.0,
    ):
        self.service = JsonClient(api_url, {"Authorization": f"Bearer {service_key}"})
        self.operator = JsonClient(api_url, {"Authorization": f"Bearer {operator_key}"})
        self.poll_interval = poll_interval
        self.step_timeout = step_timeout

    async def close(self) -> None:
        await self.service.close()
        await self.operator.close()

    async def put_orders(self, prefix: str, count: int, concurrency: int) -> list[str]:
        ids = [f"{prefix}-{i:05d}" for i in range(count)]

        async def put(order_id: str) -> None:
            await self.put_order(order_id, order_body(f"C-{order_id}"))

        await run_at_most(concurrency, put, ids)
        return ids

    async def put_order(self, order_id: str, body: dict[str, Any]) -> None:
        _expect(await self.service.put(f"/v1/orders/{order_id}", json=body), 201)

    async def drive_return(
        self,
        order_id: str,
        request: dict[str, Any] = RETURN_BODY,
        inspection: dict[str, Any] = INSPECTION,
    ) -> ReturnRun:
        """One return from its request to ``completed``; one waiting for review is approved (an operator's
        POST …/review, counted in ``to_shipment``)."""
        run = ReturnRun()
        run.started = time.perf_counter()
        created = await self.service.post(
            "/v1/returns", json={"order_id": order_id, **request}, headers={"Idempotency-Key": f"bench-{order_id}"}
        )
        mark = time.perf_counter()
        run.create, run.requests = mark - run.started, 1
        answer = _expect(created, 201)
        run.return_id = answer["id"]

        # An approved return's answer carries its label already (the parcel is booked before it answers).
        shipped = answer
        if answer["status"] != "awaiting_shipment":
            shipped = await self._wait_for(run, "awaiting_shipment", "under_review")
        if shipped["status"] == "under_review":
            review = {"decision": "approve", "note": "approved by the driver"}
            _expect(await self.operator.post(f"/v1/returns/{run.return_id}/review", json=review), 200)
            run.requests += 1
            shipped = await self._wait_for(run, "awaiting_shipment")
        run.to_shipment, mark = _lap(mark)
        tracking = shipped["logistics"]["tracking_number"]
        for event in ("picked_up", "delivered"):
            scan = {"tracking_number": tracking, "event": event, "occurred_at": datetime.now(UTC).isoformat()}
            _expect(await self.service.post("/v1/carrier-events", json=scan), 202)
            run.requests += 1
        run.carrier, mark = _lap(mark)

        await self._wait_for(run, "received")
        run.to_received, mark = _lap(mark)
        _expect(await self.operator.post(f"/v1/returns/{run.return_id}/inspection", json=inspection), 200)
        run.requests += 1
        run.inspection, mark = _lap(mark)

        await self._wait_for(run, "completed")
        run.finished = time.perf_counter()
        run.to_completed = run.finished - mark
        return run

    async def _wait_for(self, run: ReturnRun, *statuses: str) -> dict[str, Any]:
        """The return once its status is one of ``statuses``."""
        deadline = time.perf_counter() + self.step_timeout
        while True:
            response = await self.service.get(f"/v1/returns/{run.return_id}")
            run.polls += 1
            run.requests += 1
            body = _expect(response, 200)
            if body["status"] in statuses:
                return body
            if time.perf_counter() > deadline:
                raise StuckReturn(
                    f"{run.return_id} stayed {body['status']} for {self.step_timeout:.0f} s "
                    f"waiting for {' or '.join(statuses)}"
                )
            await asyncio.sleep(self.poll_interval)


async def drive_returns(driver: Driver, order_ids: list[str], concurrency: int) -> ReturnsResult:
    """Drive one return per order, ``concurrency`` at a time.

    The first failure stops the run (the figures would mean nothing): it is
    recorded, the returns still in flight are abandoned, and what completed is kept.
    """
    result = ReturnsResult(runs=[])

    async def one(order_id: str) -> None:
        try:
            result.runs.append(await driver.drive_return(order_id))
        except (StuckReturn, UnexpectedResponse, NoAnswer) as failure:
            result.failures.append(f"{order_id}: {failure!r}")
            raise Abort from failure

    try:
        await run_at_most(concurrency, one, order_ids)
    except* Abort:
        pass
    return result


class Abort(Exception):
    pass


async def run_at_most(concurrency: int, job: Callable[[str], Awaitable[None]], items: list[str]) -> None:
    """Run ``job(item)`` for every item, never more than ``concurrency`` at once; an error cancels the rest."""
    gate = asyncio.Semaphore(concurrency)

    async def gated(item: str) -> None:
        async with gate:
            await job(item)

    async with asyncio.TaskGroup() as group:
        for item in items:
            group.create_task(gated(item))


class UnexpectedResponse(Exception):
    pass


def _expect(answer: Answer, status: int) -> Any:
    if answer.status_code != status:
        raise UnexpectedResponse(
            f"{answer.method} {answer.path} answered {answer.status_code}, expected {status}: {answer.text[:300]}"
        )
    return answer.json()


def _lap(mark: float) -> tuple[float, float]:
    now = time.perf_counter()
    return now - mark, now
