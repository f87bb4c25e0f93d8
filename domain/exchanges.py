"""Exchanges: what the customer gets when the replacement cannot be had."""

from domain.evaluation import Evaluation
from domain.policy import Policy
from domain.returns import Hold, Refund


def out_of_stock_refund(policy: Policy, evaluation: Evaluation) -> Refund:
    """The refund an exchange becomes when its replacement is out of stock: store credit (with the
    policy's bonus) or money back to the original tenders, as ``exchange_out_of_stock`` says."""
    as_credit = policy.exchange_out_of_stock == "store_credit"
    return Refund(
        method="store_credit" if as_credit else "original",
        currency=evaluation.currency,
        amount=evaluation.store_credit_estimate if as_credit else evaluation.refund_estimate,
        items=evaluation.refund_items,
        fees=evaluation.fees,
        # A serial returner's deposit stays held until inspection, as the decision announced.
        holds=[Hold(amount=evaluation.deposit)] if evaluation.deposit else [],
    )
