"""``python -m bench demo-data``: fill a running stack with realistic returns through its HTTP API.

So that ``returnflow risk train`` has something to learn from on a dev stack. Every return is driven the
way the benchmark drives one (``bench/drive.py``): orders PUT, the return requested with a reason and a
comment, approved by an operator when it waits for review, scanned by the carrier, inspected, completed.

The shop has the abuse pattern of ``bench/risk_history.py``, played for real: most customers are honest,
with several orders; a quarter of them return most of what they buy (the rules call them risky and send
them to review, yet what they send back is fine). A few accounts are new (one or two orders, so the rules
do not judge their return rate), claim expensive items arrived damaged, defective or not as described
right after delivery, and inspection mostly finds the item not as described or missing. Every inspected
return is labelled the way ``store/risk_history.py`` reads them: bad when a condition is one of those.
"""

import argparse
import asyncio
import json
import random
import secrets
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.drive import Driver, StuckReturn, UnexpectedResponse, order_body, run_at_most
from bench.http_client import NoAnswer
from bench.measure import progress_for
from returnflow.settings import Settings

ABUSER_SHARE = 0.25  # of the customers
SERIAL_SHARE = 0.25  # of the honest customers
ABUSER_BAD_SHARE = 0.65
HONEST_BAD_SHARE = 0.05
# Amounts stay under the default policy's auto_approve_max_amount (200.00): only risk sends to review.
HONEST_PRICES, ABUSER_PRICES = (12.0, 120.0), (110.0, 195.0)

COMMENTS = {
    "size_fit": "Too small for me, I need a larger size.",
    "changed_mind": "I changed my mind, I no longer need it.",
    "defective": "The zip broke the first time I used it.",
    "damaged": "It arrived torn and the parcel was crushed.",
    "not_as_described": "The colour is nothing like the photos on the site.",
}
CUSTOMER_REASONS = ("size_fit", "changed_mind")
MERCHANT_REASONS = ("defective", "damaged", "not_as_described")
NO_REASON_WINDOW_DAYS = 6  # a customer's own reason is accepted within 7 days of delivery
GOOD_CONDITIONS = (("as_new", "restock"), ("opened", "restock"))
BAD_CONDITIONS = (("not_as_described", "liquidate"), ("missing", "dispose"))

progress = progress_for("bench demo-data")


@dataclass(frozen=True)
class DemoReturn:
    order_id: str
    order: dict[str, Any]
    request: dict[str, Any]
    inspection: dict[str, Any]
    abuser: bool
    bad: bool


@dataclass(frozen=True)
class DemoShop:
    orders: list[tuple[str, dict[str, Any]]]  # every order, returned or not
    returns: list[DemoReturn]


def plan_shop(returns: int, seed: int, prefix: str) -> DemoShop:
    """Customers, their orders and ``returns`` returns with how each will be found at inspection."""
    rng = random.Random(seed)
    orders: list[tuple[str, dict[str, Any]]] = []
    planned: list[DemoReturn] = []
    customer = 0
    while len(planned) < returns:
        customer += 1
        customer_id = f"{prefix}-C{customer:04d}"
        abuser = rng.random() < ABUSER_SHARE
        if abuser:
            placed, returned, prices = rng.randint(1, 2), 1, ABUSER_PRICES
        else:
            placed = rng.randint(3, 8)
            returned = rng.randint(placed // 2 + 1, placed) if rng.random() < SERIAL_SHARE else rng.randint(0, 1)
            prices = HONEST_PRICES
        for number in range(placed):
            order_id = f"{customer_id}-O{number}"
            is_returned = number < returned and len(planned) < returns
            reason = _reason(rng, abuser) if is_returned else "changed_mind"
            delivered = rng.uniform(0, 2) if abuser else rng.uniform(0, _window(reason))
            price = f"{rng.uniform(*prices):.2f}"
            body = order_body(customer_id, unit_price=price, delivered_days_ago=delivered)
            orders.append((order_id, body))
            if is_returned:
                bad = rng.random() < (ABUSER_BAD_SHARE if abuser else HONEST_BAD_SHARE)
                condition, disposition = rng.choice(BAD_CONDITIONS if bad else GOOD_CONDITIONS)
                line = {"line_id": "L1", "quantity": 1, "reason": reason, "comment": COMMENTS[reason]}
                request = {"lines": [line], "resolution": "refund", "logistics": {"method": "mail"}, "channel": "api"}
                inspection = {"lines": [{"line_id": "L1", "condition": condition, "disposition": disposition}]}
                planned.append(DemoReturn(order_id, body, request, inspection, abuser, bad))
    return DemoShop(orders, planned)


def _reason(rng: random.Random, abuser: bool) -> str:
    if abuser or rng.random() < 0.3:
        return rng.choice(MERCHANT_REASONS)
    return rng.choice(CUSTOMER_REASONS)


def _window(reason: str) -> float:
    return NO_REASON_WINDOW_DAYS if reason in CUSTOMER_REASONS else 25.0


async def fill(driver: Driver, shop: DemoShop, concurrency: int) -> dict[str, Any]:
    """PUT the shop's orders, then drive its returns to ``completed``; a return that fails is counted, not fatal
    (the data is for a demo: what completed is still labelled)."""
    order_ids = [order_id for order_id, _ in shop.orders]
    bodies = dict(shop.orders)

    async def put(order_id: str) -> None:
        await driver.put_order(order_id, bodies[order_id])

    progress(f"{len(order_ids)} orders")
    await run_at_most(concurrency, put, order_ids)
    planned = {r.order_id: r for r in shop.returns}
    outcome: Counter[str] = Counter()
    failures: list[str] = []

    async def one(order_id: str) -> None:
        demo = planned[order_id]
        try:
            run = await driver.drive_return(order_id, demo.request, demo.inspection)
        except (StuckReturn, UnexpectedResponse, NoAnswer) as failure:
            failures.append(f"{order_id}: {failure}")
            return
        outcome["bad" if demo.bad else "good"] += 1
        outcome["abuser" if demo.abuser else "honest"] += 1
        if sum(outcome[k] for k in ("good", "bad")) % 50 == 0:
            progress(f"{outcome['good'] + outcome['bad']} returns completed ({run.return_id} last)")

    progress(f"{len(planned)} returns, {concurrency} at a time")
    await run_at_most(concurrency, one, list(planned))
    return {
        "orders": len(order_ids),
        "customers": len({body["customer_id"] for body in bodies.values()}),
        "completed": outcome["good"] + outcome["bad"],
        "inspected_bad": outcome["bad"],
        "inspected_good": outcome["good"],
        "from_abusers": outcome["abuser"],
        "failed": len(failures),
        "failures": failures[:5],
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    settings = Settings()
    parser = argparse.ArgumentParser(prog="python -m bench demo-data", description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=300, help="returns driven to completed (default 300)")
    parser.add_argument("--concurrency", type=int, default=8, help="returns in flight at once (default 8)")
    parser.add_argument("--seed", type=int, default=None, help="the shop's random seed (default: a new one)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=settings.data_dir,
        help=f"the stack's data folder, with dev-keys.json (default RETURNFLOW_DATA_DIR: {settings.data_dir})",
    )
    parser.add_argument(
        "--api-url",
        default=f"http://127.0.0.1:{settings.api_port}",
        help="the running API (default http://127.0.0.1:RETURNFLOW_API_PORT)",
    )
    parser.add_argument("--service-key", help="service API key (default: from dev-keys.json)")
    parser.add_argument("--operator-key", help="operator API key (default: from dev-keys.json)")
    return parser.parse_args(argv)


def dev_keys(data_dir: Path) -> dict[str, str]:
    """role -> secret, as ``./scripts/stack`` keeps them."""
    path = data_dir / "dev-keys.json"
    if not path.exists():
        raise SystemExit(f"bench demo-data: no {path}; start the stack (./scripts/stack) or pass the keys")
    return {role: entry["key"] for role, entry in json.loads(path.read_text()).items()}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    keys = {} if args.service_key and args.operator_key else dev_keys(args.data_dir)
    driver = Driver(
        args.api_url,
        args.service_key or keys["service"],
        args.operator_key or keys["operator"],
        poll_interval=0.2,
    )
    seed = secrets.randbelow(2**31) if args.seed is None else args.seed
    shop = plan_shop(args.returns, seed, prefix=f"demo-{secrets.token_hex(3)}")
    try:
        return {"seed": seed, **await fill(driver, shop, args.concurrency)}
    finally:
        await driver.close()


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    summary = asyncio.run(run(args))
    print(
        f"demo data: {summary['completed']} returns completed ({summary['inspected_bad']} found not as described "
        f"or missing, {summary['inspected_good']} fine; {summary['from_abusers']} from the abusing accounts), "
        f"{summary['orders']} orders of {summary['customers']} customers, {summary['failed']} failed, "
        f"seed {summary['seed']}"
    )
    for failure in summary["failures"]:
        print(f"  FAILED {failure}")
    print("next: returnflow risk train, then returnflow risk show (same RETURNFLOW_DATA_DIR / DATABASE_URL)")
    return 0 if summary["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
