"""Fitting the learned risk model (scikit-learn's logistic regression) on labelled returns."""

from datetime import UTC, datetime

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from domain.risk_model import FEATURES, LEVELS, MIN_LABELLED_RETURNS, MIN_PER_OUTCOME, RiskModel
from store.risk_history import LabelledReturn

HELD_OUT_SHARE = 0.3
MEDIUM_PROBABILITY, HIGH_PROBABILITY = 0.5, 0.8


class NotEnoughReturns(Exception):
    """Too few labelled returns to learn from; the message says how many there are and are needed."""


def train(labelled: list[LabelledReturn], minimum: int = MIN_LABELLED_RETURNS, seed: int = 7) -> RiskModel:
    """Fit on 70 % of the labelled returns, measure on the other 30 % against the rule-based score."""
    bad = sum(1 for row in labelled if row.bad)
    if len(labelled) < minimum or min(bad, len(labelled) - bad) < MIN_PER_OUTCOME:
        raise NotEnoughReturns(
            f"not enough labelled returns to learn from: {len(labelled)} inspected returns "
            f"({bad} ended badly, {len(labelled) - bad} well); at least {minimum} are needed, "
            f"with {MIN_PER_OUTCOME} of each outcome. A return is labelled once it has been inspected "
            "(or its deposit kept)."
        )
    features = np.array([row.features.vector() for row in labelled])
    outcomes = np.array([1 if row.bad else 0 for row in labelled])
    rules = np.array([LEVELS.index(row.rules_level) for row in labelled])
    train_x, test_x, train_y, test_y, _, test_rules = train_test_split(
        features, outcomes, rules, test_size=HELD_OUT_SHARE, random_state=seed, stratify=outcomes
    )
    means = train_x.mean(axis=0)
    scales = np.where(train_x.std(axis=0) > 0, train_x.std(axis=0), 1.0)
    fitted = LogisticRegression(class_weight="balanced", max_iter=1000, random_state=seed)
    fitted.fit((train_x - means) / scales, train_y)
    predicted = fitted.predict_proba((test_x - means) / scales)[:, 1]
    return RiskModel(
        version=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        features=list(FEATURES),
        means=[float(v) for v in means],
        scales=[float(v) for v in scales],
        coefficients=[float(v) for v in fitted.coef_[0]],
        intercept=float(fitted.intercept_[0]),
        medium_probability=MEDIUM_PROBABILITY,
        high_probability=HIGH_PROBABILITY,
        trained_on=len(labelled),
        held_out_auc=round(float(roc_auc_score(test_y, predicted)), 3),
        rules_held_out_auc=round(float(_auc_or_chance(test_y, test_rules)), 3),
    )


def _auc_or_chance(outcomes: np.ndarray, scores: np.ndarray) -> float:
    """AUC of a score; a score that never varies ranks nothing: 0.5."""
    return float(roc_auc_score(outcomes, scores)) if len(set(scores.tolist())) > 1 else 0.5
