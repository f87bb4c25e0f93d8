"""``python -m bench open`` creates its returns as a storefront would: a create that got no final answer is
sent again with the same Idempotency-Key (so it lands on the same return), anything else is a failure."""

import os
from json import dumps
from pathlib import Path

import pytest

from bench import open_returns
from bench.drive import Driver
from bench.http_client import Answer, NoAnswer
from bench.open_returns import CREATE_ATTEMPTS, Creates, create_return, memory_mb


@pytest.fixture(autouse=True)
def no_pause_between_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(open_returns, "RETRY_PAUSE_SECONDS", 0.0)


class AnsweringInTurn:
    """In place of the driver's client: each POST gets the next of ``answers`` (a status, or no answer)."""

    def __init__(self, answers: tuple[int | None, ...]) -> None:
        self.answers = list(answers)
        self.keys: list[str] = []

    async def post(self, path: str, *, json: dict, headers: dict[str, str]) -> Answer:
        self.keys.append(headers["Idempotency-Key"])
        outcome = self.answers.pop(0)
        if outcome is None:
            raise NoAnswer(f"POST {path}: the connection was reset")
        body = {"id": "R-" + json["order_id"]} if outcome == 201 else {"title": "no"}
        return Answer("POST", path, outcome, dumps(body).encode())


async def driver_answering(*answers: int | None) -> tuple[Driver, list[str]]:
    """A driver whose creates get ``answers`` in turn (a status, or None: no answer); the keys sent."""
    driver = Driver("http://api.test", "service-key", "operator-key")
    await driver.close()
    fake = AnsweringInTurn(answers)
    driver.service = fake  # type: ignore[assignment]
    return driver, fake.keys


async def test_a_create_without_a_final_answer_is_sent_again_with_its_key() -> None:
    driver, keys = await driver_answering(None, 503, 201)
    creates = Creates()
    await create_return(driver, "O-1", creates)
    assert creates.return_ids == ["R-O-1"] and creates.retries == 2 and not creates.failures
    assert len(keys) == 3 and len(set(keys)) == 1, "every attempt carries the same Idempotency-Key"


async def test_a_refused_create_is_a_failure_and_not_retried() -> None:
    driver, keys = await driver_answering(422)
    creates = Creates()
    await create_return(driver, "O-2", creates)
    assert creates.return_ids == [] and creates.retries == 0 and len(keys) == 1
    assert creates.failures and creates.failures[0].startswith("O-2: 422")


async def test_a_create_that_never_gets_an_answer_fails_after_its_attempts() -> None:
    driver, keys = await driver_answering(*[409] * CREATE_ATTEMPTS)
    creates = Creates()
    await create_return(driver, "O-3", creates)
    assert creates.failures == [f"O-3: 409 {CREATE_ATTEMPTS} times"] and len(keys) == CREATE_ATTEMPTS


def test_the_memory_reading_is_this_process_resident_set() -> None:
    memory = memory_mb(os.getpid())
    status = Path("/proc/self/status").read_text()
    assert 0 < memory["now"] <= memory["peak"] and "VmHWM" in status
