"""Judging a return request: load what the decision needs (the order, the policy version, the customer's
risk, the catalog for an exchange, the carrier's word on a pickup slot) and make it, writing nothing.
Preview and create both call ``judge``, so they always agree; create's evaluation then travels in the
workflow's start input (ADR 0003)."""

import secrets
from datetime import UTC, datetime, timedelta

from fastapi import Request

from api.auth import Caller
from api.idempotency import idempotent_id
from api.pickup_slots import refuse_unoffered_slot
from api.problems import Problem
from connectors.catalog import look_up
from connectors.errors import PartnerError, PartnerUnavailable
from domain.evaluation import Evaluation, evaluate
from domain.exchanges import Variant
from domain.orders import Order
from domain.privacy import without_personal_data
from domain.returns import ReturnRequest
from domain.risk import assess
from messages.returns import CURRENT_SHAPE, StartReturn
from store import orders, policies
from store.customers import customer_history


def no_override_for_customers(caller: Caller, body: ReturnRequest) -> None:
    if caller.role == "customer" and body.override:
        raise Problem(403, "only staff may override the policy")


async def judge(request: Request, body: ReturnRequest, caller: Caller) -> tuple[StartReturn, Evaluation]:
    """Load what the decision needs and make it; nothing is written."""
    now = datetime.now(UTC)
    async with request.app.state.database.sessions() as session:
        found = await orders.get_order(session, body.order_id)
        if caller.role == "customer" and (found is None or not caller.owns(found[0].customer_id)):
            raise Problem(404, f"no order {body.order_id}")
        if found is None:
            raise Problem(
                422,
                f"there is no order {body.order_id}",
                [{"field": "order_id", "code": "unknown_order", "message": "no such order"}],
            )
        order, claimed = found
        version, policy = await policies.current_policy(session)
        since = now - timedelta(days=policy.risk.lookback_days)
        risk = assess(await customer_history(session, order.customer_id, since), policy.risk)
    await refuse_unoffered_slot(request, body, order, now)
    catalog = await catalog_for(request, body, order) if body.resolution == "exchange" else None
    # The address stays in the store (the carrier activity reads it); it never enters workflow history.
    without_address = order.model_copy(update={"shipping_address": None})
    # With an Idempotency-Key the id comes from it: a retry after a crash finds the workflow already started.
    return_id = idempotent_id(request, "ret_") or "ret_" + secrets.token_hex(10)
    # So does what the customer wrote: the workflow gets placeholders (see domain/privacy.py).
    evaluation = evaluate(order, body, policy, now, risk=risk, already_returned=claimed, catalog=catalog)
    start = StartReturn(
        return_id=return_id,
        order=without_address,
        request=without_personal_data(body, return_id),
        policy=policy,
        policy_version=version,
        requested_at=now,
        already_returned=claimed,
        risk=risk,
        evaluation=evaluation,
        shape=CURRENT_SHAPE,
    )
    return start, evaluation


CATALOG_RETRY_AFTER_SECONDS = 5


async def catalog_for(request: Request, body: ReturnRequest, order: Order) -> dict[str, Variant]:
    """The catalog's variants of an exchange's replacements and of the lines they replace (a 503 with
    Retry-After when the catalog cannot answer: nothing is decided without it)."""
    replaced = {item.line_id for item in body.exchange_items}
    skus = [item.sku for item in body.exchange_items]
    skus += [line.sku for line in order.lines if line.line_id in replaced]
    try:
        return await look_up(request.app.state.catalog, skus)
    except PartnerUnavailable as error:
        raise Problem(
            503,
            f"the catalog did not answer ({error}); try again",
            headers={"Retry-After": str(CATALOG_RETRY_AFTER_SECONDS)},
        ) from None
    except PartnerError as error:
        raise Problem(
            503, f"the catalog refused the lookup ({error})", headers={"Retry-After": str(CATALOG_RETRY_AFTER_SECONDS)}
        ) from None
