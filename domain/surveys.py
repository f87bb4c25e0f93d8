"""The satisfaction survey: once a return has ended, its customer may score it 1–5, once.

A low score (``NEGATIVE_SCORE_MAX`` or less) is work for customer service: it opens a
``negative_feedback`` ticket.
"""

from pydantic import Field

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
