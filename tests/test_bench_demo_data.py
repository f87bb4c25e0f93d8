"""``python -m bench demo-data`` fills a running stack with returns the risk model can learn from."""

import httpx

from bench.demo_data import fill, plan_shop
from bench.drive import Driver
from domain.risk import RiskRules
from store.db import Database
from store.risk_history import LabelledReturn, labelled_returns
from tests.api_client import Callers


async def labelled(database: Database) -> list[LabelledReturn]:
    async with database.sessions() as session:
        return await labelled_returns(session, RiskRules())


def key(client: httpx.AsyncClient) -> str:
    return client.headers["Authorization"].removeprefix("Bearer ")


async def test_the_demo_returns_end_inspected_with_good_and_bad_labels(api: Callers, database: Database) -> None:
    before = await labelled(database)
    shop = plan_shop(24, seed=5, prefix="demo-test")
    driver = Driver(
        str(api.service.base_url),
        key(api.service),
        key(api.operator),
        poll_interval=0.1,
    )
    try:
        summary = await fill(driver, shop, concurrency=6)
    finally:
        await driver.close()
    after = await labelled(database)

    assert summary["failed"] == 0, summary["failures"]
    assert summary["completed"] == 24 and summary["orders"] == len(shop.orders) > 24
    planned_bad = sum(r.bad for r in shop.returns)
    assert summary["inspected_bad"] == planned_bad and 0 < planned_bad < 24
    # Every demo return is labelled as the trainer reads it, and the labels are the planned ones.
    assert len(after) - len(before) == 24
    assert sum(r.bad for r in after) - sum(r.bad for r in before) == planned_bad
    # The abuse pattern: the new accounts' returns end badly far more often than the honest ones'.
    abusers = [r for r in shop.returns if r.abuser]
    honest = [r for r in shop.returns if not r.abuser]
    assert abusers and sum(r.bad for r in abusers) / len(abusers) > sum(r.bad for r in honest) / len(honest)
