"""The satisfaction survey: once a return has ended, its customer may score it 1–5, once.

A low score (``NEGATIVE_SCORE_MAX`` or less) is work for customer service: it opens a
``negative_feedback`` ticket.
"""

from collections.abc import Mapping

from pydantic import BaseModel, Field

from domain.orders import StrictModel
from domain.returns import FINAL_STATUSES, ReturnView

SCORES = (1, 2, 3, 4, 5)
NEGATIVE_SCORE_MAX = 2


class SurveyAnswer(StrictModel):
    """The body of ``POST /v1/returns/{id}/survey``."""

    score: int = Field(ge=SCORES[0], le=SCORES[-1], description="1 (very unhappy) to 5 (very happy).")
    comment: str = Field("", max_length=2000, description="In the customer's words; kept on the answer only.")


def survey_refusal(view: ReturnView) -> str | None:
    """Why the customer cannot answer the survey now, or None when it can: only an ended return is surveyed."""
    if view.status in FINAL_STATUSES:
        return None
    return f"a return that is {view.status.value} has not ended; its survey opens when it ends"


def is_negative(answer: SurveyAnswer) -> bool:
    """A score this low is followed up by a person."""
    return answer.score <= NEGATIVE_SCORE_MAX


class SurveyScores(BaseModel):
    """How the surveys answered in a period scored (``GET /v1/metrics/returns``, ``survey``)."""

    answers: int = Field(description="Surveys answered in the period.")
    average: float | None = Field(description="Their mean score, to two decimals; null without answers.")
    scores: dict[str, int] = Field(description='Answers per score, "1" to "5" (each listed, 0 when none).')


def survey_scores(counts: Mapping[int, int]) -> SurveyScores:
    """The distribution from the number of answers per score."""
    answers = sum(counts.values())
    total = sum(score * count for score, count in counts.items())
    return SurveyScores(
        answers=answers,
        average=round(total / answers, 2) if answers else None,
        scores={str(score): counts.get(score, 0) for score in SCORES},
    )
