"""The survey's rules: ended returns only, scores 1 to 5, a low score is followed up."""

import pytest
from pydantic import ValidationError

from domain.returns import FINAL_STATUSES, Status
from domain.surveys import SurveyAnswer, is_negative, survey_refusal, survey_scores
from tests.factories import view_through


def test_only_an_ended_return_is_surveyed() -> None:
    for status in Status:
        refusal = survey_refusal(view_through(Status.REQUESTED, status))
        assert (refusal is None) == (status in FINAL_STATUSES), status
    assert "in_transit has not ended" in (survey_refusal(view_through(Status.IN_TRANSIT)) or "")


@pytest.mark.parametrize("score", [0, 6, "3", 2.5, True])
def test_a_score_is_a_whole_number_from_1_to_5(score: object) -> None:
    with pytest.raises(ValidationError):
        SurveyAnswer.model_validate({"score": score})


def test_scores_of_two_or_less_are_negative() -> None:
    assert [is_negative(SurveyAnswer(score=score)) for score in range(1, 6)] == [True, True, False, False, False]
    assert SurveyAnswer(score=4).comment == ""
    with pytest.raises(ValidationError):
        SurveyAnswer.model_validate({"score": 4, "comment": "x" * 2001})


def test_the_distribution_lists_every_score_and_the_mean() -> None:
    assert survey_scores({5: 1, 4: 2}).model_dump() == {
        "answers": 3,
        "average": 4.33,
        "scores": {"1": 0, "2": 0, "3": 0, "4": 2, "5": 1},
    }
    assert survey_scores({}).average is None
