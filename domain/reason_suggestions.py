"""When a customer's comment says another reason than the one chosen: the rules on the model's scores.

Pure: ``assist/reasons.py`` scores a comment against every reason with a local text-embedding model;
these rules decide whether the comment clearly points to one reason, whether that is worth suggesting,
and which comments the model cannot read at all.
"""

import unicodedata

from domain.returns import Reason, SuggestedReason

# The best reason's similarity must reach this, and lead the runner-up by the margin: a comment that
# clearly says one thing. Chosen with ./scripts/bench assist on tests/data/reason_comments.tsv.
MIN_SCORE = 0.50
MIN_LEAD = 0.06
# "other" is never suggested: no comment clearly says "other".
SUGGESTIBLE = frozenset(Reason) - {Reason.OTHER}
# Letters of these scripts are what the model was trained on; comments mostly in another script get no
# suggestion (the model would find meaning in noise).
COVERED_SCRIPTS = ("LATIN",)
MIN_COVERED_SHARE = 0.8


def model_reads(comment: str) -> bool:
    """Whether the comment is in a script the model covers (and has letters at all)."""
    letters = [c for c in comment if c.isalpha()]
    if len(letters) < 3:
        return False
    covered = sum(1 for c in letters if unicodedata.name(c, "").startswith(COVERED_SCRIPTS))
    return covered / len(letters) >= MIN_COVERED_SHARE


def clear_reason(scores: dict[Reason, float]) -> SuggestedReason | None:
    """The reason the comment clearly points to, or None when none stands out."""
    ranked = sorted(((score, reason) for reason, score in scores.items() if reason in SUGGESTIBLE), reverse=True)
    if not ranked:
        return None
    (best_score, best), runner_up = ranked[0], ranked[1][0] if len(ranked) > 1 else 0.0
    if best_score < MIN_SCORE or best_score - runner_up < MIN_LEAD:
        return None
    return SuggestedReason(reason=best, score=round(best_score, 3))


def suggestion(scores: dict[Reason, float], chosen: Reason) -> SuggestedReason | None:
    """What to suggest for a line: the comment's clear reason when it is not the one chosen."""
    clear = clear_reason(scores)
    return clear if clear is not None and clear.reason != chosen else None
