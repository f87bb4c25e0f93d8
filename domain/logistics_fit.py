"""Which way back fits a return best: the offered logistics methods in order of fit, each with why.

Pure: the API passes what the return holds and how the customer sent its earlier returns back.
"""

from collections import Counter
from typing import Literal

from pydantic import BaseModel

from domain.orders import Order
from domain.returns import LogisticsMethod, ReturnRequest

# Categories whose items spoil: they should travel back fast and handled by people, not sit in a post box.
PERISHABLE_CATEGORIES = frozenset({"fresh"})
# A customer's habit counts once it has sent this many returns back, most of them one way.
HABIT_MIN_RETURNS = 2

Fit = Literal["perishable", "habit", "default"]


class MethodFit(BaseModel):
    method: LogisticsMethod
    fit: Fit
    reason: str


def methods_by_fit(
    offered: list[str], order: Order, request: ReturnRequest, methods_used: dict[str, int]
) -> list[MethodFit]:
    """``offered`` reordered, best first; ``methods_used`` counts how the customer's earlier returns went back."""
    categories = {line.category for line in order.lines if line.line_id in {w.line_id for w in request.lines}}
    ranked: list[tuple[str, Fit, str]]
    if categories & PERISHABLE_CATEGORIES:
        reason = "fresh items should go back quickly and by hand"
        ranked = [("pickup", "perishable", reason), ("drop_off", "perishable", reason)]
    else:
        ranked = []
        habit = _habit(methods_used)
        if habit is not None:
            method, times = habit
            ranked.append((method, "habit", f"the customer sent {times} earlier returns back this way"))
    chosen = [(m, fit, why) for m, fit, why in ranked if m in offered]
    chosen += [(m, "default", "offered") for m in offered if m not in {c[0] for c in chosen}]
    return [MethodFit.model_validate({"method": m, "fit": fit, "reason": why}) for m, fit, why in chosen]


def _habit(methods_used: dict[str, int]) -> tuple[str, int] | None:
    counted = Counter({m: n for m, n in methods_used.items() if m != "none"})
    total = sum(counted.values())
    if total < HABIT_MIN_RETURNS:
        return None
    method, times = counted.most_common(1)[0]
    return (method, times) if times * 2 > total else None
