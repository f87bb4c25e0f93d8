"""What of a return request is personal data, and the version of it that may travel to Temporal.

Comments and evidence links are written by customers and may say anything about
them. The workflow only needs to know that evidence exists, so it gets one
placeholder link per attachment and no comment; the originals stay in the
database, where erasing a customer can reach them.
"""

from pydantic import BaseModel, HttpUrl

from domain.returns import ReturnRequest


class SubmittedLine(BaseModel):
    line_id: str
    comment: str
    evidence: list[str]


def submitted_lines(request: ReturnRequest) -> list[SubmittedLine]:
    return [
        SubmittedLine(line_id=line.line_id, comment=line.comment, evidence=[str(url) for url in line.evidence])
        for line in request.lines
        if line.comment or line.evidence
    ]


def without_personal_data(request: ReturnRequest, return_id: str) -> ReturnRequest:
    lines = [
        line.model_copy(
            update={
                "comment": "",
                "evidence": [
                    HttpUrl(f"https://evidence.invalid/{return_id}/{line.line_id}/{n}")
                    for n in range(1, len(line.evidence) + 1)
                ],
            }
        )
        for line in request.lines
    ]
    return request.model_copy(update={"lines": lines})
