"""A generated shop history with a known abuse pattern, for the learned risk model's evaluation.

Most customers are honest; some of them return a lot (wrong sizes, changed minds) and the rules call
them risky, yet what they send back is fine. A few accounts are new (one or two orders, so the rules do
not judge their return rate), claim expensive items arrived damaged or never came, right after delivery,
and those claims turn out false at inspection. The rules cannot see that pattern; a model of the
return's own features can.
"""

import math
import random
from datetime import UTC, datetime, timedelta

from domain.risk import CustomerHistory, RiskRules, assess
from domain.risk_model import return_features
from store.risk_history import LabelledReturn

ABUSER_SHARE = 0.15
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def generated_history(returns: int, seed: int = 11) -> list[LabelledReturn]:
    rng = random.Random(seed)
    rules = RiskRules()
    rows = []
    for _ in range(returns):
        abuser = rng.random() < ABUSER_SHARE
        if abuser:
            orders = rng.randint(1, 2)
            history = CustomerHistory(orders=orders, returns=rng.randint(0, 1))
            amount = math.exp(rng.uniform(4.5, 6.5))
            merchant_lines, lines = 1, 1
            without_item = rng.random() < 0.4
            days = rng.uniform(0, 3)
            bad = rng.random() < 0.65
        else:
            orders = rng.randint(3, 25)
            serial = rng.random() < 0.25
            history = CustomerHistory(
                orders=orders,
                returns=rng.randint(orders // 2, orders) if serial else rng.randint(0, orders // 4),
                bad_inspections=1 if rng.random() < 0.03 else 0,
            )
            amount = math.exp(rng.uniform(2.5, 5.5))
            lines = rng.randint(1, 3)
            merchant_lines = sum(rng.random() < 0.3 for _ in range(lines))
            without_item = rng.random() < 0.05
            days = rng.uniform(0, 28)
            bad = rng.random() < 0.05
        features = return_features(
            history, amount, merchant_lines, lines, without_item, NOW - timedelta(days=days), NOW
        )
        rows.append(LabelledReturn(features, assess(history, rules).level, bad))
    return rows
