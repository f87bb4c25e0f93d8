"""A check of our own for the schemathesis run of tests/test_schemathesis.py (loaded as its ``hooks``).

The contract answers 422 for valid JSON that breaks a rule (an unknown order, a window that has
passed), so the run expects 422 for schema-valid requests too. That alone would hide a schema
that promises more than the API takes. This check tells the two apart: a request generated as
valid by the schema may be refused for a rule, never for its shape; a 422 naming one of
pydantic's own type or constraint errors (or a NUL character) means the document and the
validation disagree.
"""

from typing import Any

import schemathesis
from schemathesis.core import NotSet
from schemathesis.core.failures import Failure

# The error codes that say the request does not have the shape its schema gives it. A field validator's
# "value_error" is left out: it is how the API writes rules across fields (a window in days or hours, not both).
SHAPE_CODES = frozenset(
    {
        "nul_character",
        "missing",
        "extra_forbidden",
        "int_type",
        "int_parsing",
        "int_from_float",
        "bool_type",
        "bool_parsing",
        "string_type",
        "string_too_short",
        "string_too_long",
        "string_pattern_mismatch",
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "too_short",
        "too_long",
        "list_type",
        "dict_type",
        "model_type",
        "model_attributes_type",
        "literal_error",
        "enum",
        "datetime_type",
        "datetime_parsing",
        "datetime_from_date_parsing",
        "timezone_aware",
        "url_type",
        "url_parsing",
        "url_scheme",
        "url_too_long",
        "decimal_type",
        "decimal_parsing",
        "float_type",
        "float_parsing",
    }
)


class ShapeRefused(Failure):
    code = "ST990"
    kind_title = "Schema-valid request refused for its shape"
    checks = ("valid_shapes_are_accepted",)

    def __init__(self, *, operation: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(
            operation=operation,
            title=self.kind_title,
            message=f"422 for a request the schema says is valid; the validation refused: {errors}",
        )


@schemathesis.check
def valid_shapes_are_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    errors = [error for error in body.get("errors") or [] if error.get("code") in SHAPE_CODES]
    if errors and _body_is_valid(case):
        raise ShapeRefused(operation=case.operation.label, errors=errors)
    return None


def _body_is_valid(case: Any) -> bool:
    """Whether the body sent is valid by its schema. A case generated as valid may not be: data that
    schemathesis reuses from earlier answers is merged into it as it stands."""
    definitions = list(case.operation.body)
    if not definitions or isinstance(case.body, NotSet):
        return True
    try:
        return any(definition.is_valid(case.body) for definition in definitions)
    except Exception:  # a body it cannot judge (not JSON): leave it to the other checks
        return False
