"""``python -m bench open`` creates its returns as a storefront would: a create that got no final answer is
sent again with the same Idempotency-Key (so it lands on the same return), anything else is a failure."""

import json
import os
from pathlib import Path

import httpx
import pytest

from bench import open_returns
from bench.drive import Driver
from bench.open_returns import CREATE_ATTEMPTS, Creates, create_return, memory_mb


@pytest.fixture(autouse=True)
def no_pause_between_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(open_returns, "RETRY_PAUSE_SECONDS", 0.0)


def driver_answering(*answers: int | type[httpx.TransportError]) -> tuple[Driver, list[str]]:
    """A driver whose creates get ``answers`` in turn (a status, or a connection failure); the keys sent."""
    keys: list[str] = []
    queue = list(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["Idempotency-Key"])
        outcome = queue.pop(0)
        if not isinstance(outcome, int):
            raise outcome("no answer", request=request)
        body = {"id": "R-" + json.loads(request.content)["order_id"]} if outcome == 201 else {"title": "no"}
        return httpx.Response(outcome, json=body)

    driver = Driver("http://api.test", "service-key", "operator-key")
    driver.service = httpx.AsyncClient(base_url="http://api.test", transport=httpx.MockTransport(answer))
    return driver, keys


async def test_a_create_without_a_final_answer_is_sent_again_with_its_key() -> None:
    driver, keys = driver_answering(httpx.ReadError, 503, 201)
    creates = Creates()
    await create_return(driver, "O-1", creates)
    assert creates.return_ids == ["R-O-1"] and creates.retries == 2 and not creates.failures
    assert len(keys) == 3 and len(set(keys)) == 1, "every attempt carries the same Idempotency-Key"


async def test_a_refused_create_is_a_failure_and_not_retried() -> None:
    driver, keys = driver_answering(422)
    creates = Creates()
    await create_return(driver, "O-2", creates)
    assert creates.return_ids == [] and creates.retries == 0 and len(keys) == 1
    assert creates.failures and creates.failures[0].startswith("O-2: 422")


async def test_a_create_that_never_gets_an_answer_fails_after_its_attempts() -> None:
    driver, keys = driver_answering(*[409] * CREATE_ATTEMPTS)
    creates = Creates()
    await create_return(driver, "O-3", creates)
    assert creates.failures == [f"O-3: 409 {CREATE_ATTEMPTS} times"] and len(keys) == CREATE_ATTEMPTS


def test_the_memory_reading_is_this_process_resident_set() -> None:
    memory = memory_mb(os.getpid())
    status = Path("/proc/self/status").read_text()
    assert 0 < memory["now"] <= memory["peak"] and "VmHWM" in status
