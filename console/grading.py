"""The console's inspection form, on the return page and at the station: per line a condition,
a disposition and a note, read back into the ``Inspection`` the REST API takes.

A line left without a condition or a disposition is left out of the inspection, so the
workflow's own rule (every line graded exactly once) answers for it, as it does over REST.
"""

from dataclasses import asdict, dataclass
from typing import get_args

from starlette.datastructures import FormData

from api.problems import Problem
from console.forms import validated
from domain.inspection import inspection_errors
from domain.returns import Condition, Disposition, Inspection, ReturnLine

CONDITIONS: tuple[str, ...] = get_args(Condition)
DISPOSITIONS: tuple[str, ...] = get_args(Disposition)


@dataclass(frozen=True)
class Grade:
    """What the operator chose for one line (empty until chosen), kept to show the form again."""

    condition: str = ""
    disposition: str = ""
    note: str = ""


def field(kind: str, line_id: str) -> str:
    """The form field of ``kind`` (condition, disposition, note) for a line."""
    return f"{kind}-{line_id}"


def grades_from(form: FormData, lines: list[ReturnLine]) -> dict[str, Grade]:
    return {
        line.line_id: Grade(
            condition=str(form.get(field("condition", line.line_id), "")),
            disposition=str(form.get(field("disposition", line.line_id), "")),
            note=str(form.get(field("note", line.line_id), "")).strip(),
        )
        for line in lines
    }


def inspection_from(grades: dict[str, Grade], lines: list[ReturnLine]) -> Inspection:
    """The inspection of the lines graded; ``Problem(422)`` for none graded or a value the form never offers."""
    graded = {line_id: grade for line_id, grade in grades.items() if grade.condition and grade.disposition}
    if not graded:
        errors = inspection_errors(lines, Inspection.model_construct(lines=[]))
        raise Problem(422, "grade each line: choose its condition and its disposition", errors)
    sent = [{"line_id": line_id, **asdict(grade)} for line_id, grade in graded.items()]
    return validated(Inspection, {"lines": sent}, line_ids=list(graded))
