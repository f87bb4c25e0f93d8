"""Judging a return request: load what the decision needs (the order, the policy version, the customer's
risk, what its evidence photos show, the catalog for an exchange, the carrier's word on a pickup slot)
and make it, writing nothing. Preview and create both call ``judge``, so they always agree; create's
evaluation then travels in the workflow's start input (ADR 0003)."""

import secrets
from datetime import UTC, datetime, timedelta

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit import actor_of
from api.auth import Caller
from api.idempotency import idempotent_id
from api.pickup_slots import refuse_unoffered_slot
from api.problems import Problem
from assist.reasons import reason_scorer
from assist.risk_models import installed_model
from connectors.catalog import look_up
from connectors.errors import PartnerError, PartnerUnavailable
from domain.evaluation import Evaluation, evaluate
from domain.evidence import PhotoFacts, photo_findings
from domain.exchanges import Variant
from domain.logistics_fit import methods_by_fit
from domain.orders import Order
from domain.privacy import without_personal_data
from domain.returns import ReturnRequest
from domain.risk import assess
from domain.risk_model import request_features, score, with_model
from messages.returns import CURRENT_SHAPE, StartReturn
from store import evidence, orders, policies
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
        history = await customer_history(session, order.customer_id, since)
        risk = assess(history, policy.risk)
        model = installed_model(request.app.state.settings.risk_model_path)
        if model is not None:
            risk = with_model(risk, model, score(model, request_features(history, order, body, policy, now)))
        # With an Idempotency-Key the id comes from it: a retry after a crash finds the workflow already started.
        return_id = idempotent_id(request, "ret_") or "ret_" + secrets.token_hex(10)
        photos = await evidence_facts(session, body, order)
    risk = risk.model_copy(update={"evidence_findings": photo_findings(photos, order.delivered_at, return_id)})
    await refuse_unoffered_slot(request, body, order, now)
    catalog = await catalog_for(request, body, order) if body.resolution == "exchange" else None
    # The address stays in the store (the carrier activity reads it); it never enters workflow history.
    without_address = order.model_copy(update={"shipping_address": None})
    # So does what the customer wrote: the workflow gets placeholders (see domain/privacy.py).
    suggestions = {
        line.line_id: suggested
        for line in body.lines
        if (suggested := reason_scorer().suggest(line.comment, line.reason)) is not None
    }
    evaluation = evaluate(
        order, body, policy, now, risk=risk, already_returned=claimed, catalog=catalog, suggestions=suggestions
    )
    fits = methods_by_fit(evaluation.logistics_methods, order, body, history.methods_used)
    evaluation = evaluation.model_copy(
        update={"logistics_methods": [fit.method for fit in fits], "logistics_fit": fits}
    )
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
        requested_by=str(actor_of(caller)),
    )
    return start, evaluation


async def evidence_facts(session: AsyncSession, body: ReturnRequest, order: Order) -> list[PhotoFacts]:
    """The request's uploaded photos, measured and compared with the stored ones; 422 for an id that is not
    one of the order's customer's photos."""
    found = await evidence.customer_evidence(session, order.customer_id, body.evidence_ids)
    known = {row.id for row in found}
    unknown = [
        {"line_id": line.line_id, "code": "unknown_evidence", "message": f"no uploaded photo {evidence_id}"}
        for line in body.lines
        for evidence_id in line.evidence_ids
        if evidence_id not in known
    ]
    if unknown:
        raise Problem(422, "some evidence ids name no photo the customer uploaded", unknown)
    return await evidence.photo_facts(session, found)


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
