"""The search attributes returnflow's workflows set, for Temporal UI and visibility queries.

One definition for the worker, the dev stack, the benchmark, the tests and
``returnflow temporal setup`` (which registers them in a deployed namespace).
The README's ``temporal workflow list --query`` recipes use them (a test runs each).

They carry no personal data: the order id is the merchant's reference, and the
customer is not indexed at all (find a customer's returns by their orders).

The call that starts a return sets those known then (``at_start``), including
the status it will wait in after its first workflow task if nothing goes wrong;
at every step the workflow sets those that changed (``changed``), in one upsert,
never one per attribute, and none when nothing did (a happy return's first task
upserts nothing). A return started without them (before they existed) gets them
all at its next step (``of_return``).
"""

from typing import Any, TypedDict

from temporalio.common import SearchAttributeKey, SearchAttributePair, SearchAttributeUpdate, TypedSearchAttributes

from domain.opening import first_waiting_status
from domain.returns import ReturnView
from messages.returns import StartReturn, details_of, opened_view, summary_of

# Filterable in Temporal UI: `ReturnStatus = "needs_attention"`.
RETURN_STATUS = SearchAttributeKey.for_keyword("ReturnStatus")
# The return's Priority: `ReturnPriority = "high"` when urged or needing a person; sorts the queues in
# Temporal UI as in the console.
RETURN_PRIORITY = SearchAttributeKey.for_keyword("ReturnPriority")
# "return", "exchange", "refund_only" or "cancellation".
RETURN_TYPE = SearchAttributeKey.for_keyword("ReturnType")
# The merchant's order reference.
ORDER_ID = SearchAttributeKey.for_keyword("OrderId")
# The customer's risk level when the return was requested: "low", "medium" or "high".
RISK_LEVEL = SearchAttributeKey.for_keyword("RiskLevel")
# Why a person must act (an attention's reason, e.g. "refund_failed"); unset while nobody needs to.
ATTENTION_REASON = SearchAttributeKey.for_keyword("AttentionReason")
# Where the request came from: "storefront", "customer_service" or "api".
CHANNEL = SearchAttributeKey.for_keyword("Channel")
# What the return pays back, in the order's currency (an estimate until inspected).
REFUND_AMOUNT = SearchAttributeKey.for_float("RefundAmount")
# The version of the return policy the return follows.
POLICY_VERSION = SearchAttributeKey.for_int("PolicyVersion")

SEARCH_ATTRIBUTES: list[SearchAttributeKey[Any]] = [
    RETURN_STATUS,
    RETURN_PRIORITY,
    RETURN_TYPE,
    ORDER_ID,
    RISK_LEVEL,
    ATTENTION_REASON,
    CHANNEL,
    REFUND_AMOUNT,
    POLICY_VERSION,
]


def dev_server_arguments() -> list[str]:
    """The ``temporal server start-dev`` flags that register every search attribute (the stack, the bench)."""
    arguments: list[str] = []
    for key in SEARCH_ATTRIBUTES:
        arguments += ["--search-attribute", f"{key.name}={key.indexed_value_type.name.title()}"]
    return arguments


def at_start(start: StartReturn) -> TypedSearchAttributes:
    """What is known of a return before its workflow runs, set by the call that starts it."""
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(ORDER_ID, start.order.order_id),
        SearchAttributePair(CHANNEL, start.request.channel),
        SearchAttributePair(POLICY_VERSION, start.policy_version),
        SearchAttributePair(RISK_LEVEL, start.risk.level),
    ]
    evaluation = start.evaluation
    if evaluation is not None:
        first = opened_view(start, evaluation, start.requested_at)
        pairs += [
            SearchAttributePair(RETURN_TYPE, evaluation.type),
            SearchAttributePair(RETURN_STATUS, first_waiting_status(evaluation).value),
            SearchAttributePair(RETURN_PRIORITY, first.priority),
            SearchAttributePair(REFUND_AMOUNT, float(first.refund.amount)),
        ]
    return TypedSearchAttributes(pairs)


class StartShown(TypedDict):
    """What Temporal UI shows of a return from the call that starts its workflow (its keyword arguments)."""

    search_attributes: TypedSearchAttributes
    static_summary: str
    static_details: str


def shown_from_start(start: StartReturn) -> StartShown:
    """The start call's attributes, summary and details (the API's, and the tests' that start as it does)."""
    return StartShown(
        search_attributes=at_start(start), static_summary=summary_of(start), static_details=details_of(start)
    )


def changing(view: ReturnView) -> list[SearchAttributeUpdate[Any]]:
    """The attributes a step of the return can change."""
    attention = view.attention
    return [
        RETURN_STATUS.value_set(view.status.value),
        RETURN_PRIORITY.value_set(view.priority),
        ATTENTION_REASON.value_set(attention.reason) if attention else ATTENTION_REASON.value_unset(),
        REFUND_AMOUNT.value_set(float(view.refund.amount)),
    ]


def changed(view: ReturnView, current: TypedSearchAttributes) -> list[SearchAttributeUpdate[Any]]:
    """The attributes a step changed: those of ``changing`` whose value is not already ``current``'s."""
    return [update for update in changing(view) if current.get(update.key) != update.value]


def of_return(view: ReturnView) -> list[SearchAttributeUpdate[Any]]:
    """Every attribute the return's view gives, for a return started without ``at_start``."""
    return [
        ORDER_ID.value_set(view.order_id),
        RETURN_TYPE.value_set(view.type),
        RISK_LEVEL.value_set(view.decision.risk),
        POLICY_VERSION.value_set(view.policy_version),
        *changing(view),
    ]
