"""Answering an ended return's satisfaction survey: one use case for the REST route and the tracking page.

``POST /v1/returns/{id}/survey`` and the customer's tracking page (``/track/{id}``) call
``answer_survey``: the caller must see the return (a customer: its own), the return must have
ended and not been answered before (409 otherwise; the table's key decides between answers
that race), a low score opens a ``negative_feedback`` ticket for customer service, and the act
is written to the audit trail (its score and ticket; the comment, the customer's words, stays on
the answer and the ticket). All of it in one transaction: an answer is recorded with its ticket
and audit entry, or not at all.
"""

from datetime import UTC, datetime

from api.audit import actor_of
from api.auth import Caller
from api.problems import Problem
from api.return_acts import visible_return
from domain import tickets as tickets_domain
from domain.surveys import SurveyAnswer, is_negative, survey_refusal
from store import audit, surveys, tickets
from store.db import Database
from store.surveys import SurveyView


class AnsweredSurvey(SurveyView):
    ticket_id: str | None = None


async def answer_survey(database: Database, caller: Caller, return_id: str, answer: SurveyAnswer) -> AnsweredSurvey:
    """Record the answer (404 unknown or not the caller's, 409 not ended or already answered)."""
    try:
        async with database.transaction() as session:
            view = await visible_return(session, return_id, caller)
            refusal = survey_refusal(view)
            if refusal:
                raise Problem(409, refusal)
            recorded = await surveys.record_answer(session, return_id, view.customer_id, answer, datetime.now(UTC))
            ticket_id = None
            if is_negative(answer):
                ticket = await tickets.open_ticket(
                    session,
                    kind="negative_feedback",
                    return_id=return_id,
                    summary=f"Survey score {answer.score} of 5"
                    + (f": {answer.comment[:150]}" if answer.comment else ""),
                    details={"score": answer.score, "comment": answer.comment},
                    dedupe_key=tickets_domain.negative_feedback_key(return_id),
                )
                ticket_id = ticket.id
            await audit.record(
                session, actor_of(caller), "return.survey", return_id, score=answer.score, ticket_id=ticket_id
            )
    except surveys.AlreadyAnswered:
        raise Problem(409, f"the survey of return {return_id} is already answered") from None
    return AnsweredSurvey(**recorded.model_dump(), ticket_id=ticket_id)
