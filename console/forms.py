"""Reading a console form into the model the REST API takes, with the API's 422 when it breaks a rule."""

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from api.problems import Problem

Model = TypeVar("Model", bound=BaseModel)


def validated(model: type[Model], data: dict[str, Any], line_ids: Sequence[str] = ()) -> Model:
    """``data`` as ``model``; ``Problem(422)`` naming each field wrong (with its line, for ``lines[i]``)."""
    try:
        return model.model_validate(data)
    except ValidationError as invalid:
        raise Problem(422, "some fields are invalid", [_error(error, line_ids) for error in invalid.errors()]) from None


def _error(error: ErrorDetails, line_ids: Sequence[str]) -> dict[str, str]:
    location = error["loc"]
    described = {"code": error["type"], "message": error["msg"]}
    if len(location) > 2 and location[0] == "lines" and isinstance(location[1], int) and location[1] < len(line_ids):
        return {"line_id": line_ids[location[1]], "field": str(location[-1]), **described}
    return {"field": ".".join(str(part) for part in location) or "form", **described}
