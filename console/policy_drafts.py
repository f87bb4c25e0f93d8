"""A policy draft from the console's editors: the form of the top-level settings, or the whole document as YAML.

Either way a draft is the document as the operator wrote it and pydantic's verdict on it (the
``Policy`` model is the one judge, as for ``PUT /v1/policy``), with each error placed where it can be
fixed: next to the form's field, or at the line of the YAML that holds the field.
"""

import hashlib
import json
import re
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from domain.policy import Policy

FieldKind = Literal["whole", "amount", "flag", "choice", "choices"]
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class FormField:
    """A top-level setting of the policy as the form edits it; ``options`` for a choice or choices."""

    name: str
    kind: FieldKind
    options: tuple[str, ...] = ()


def _options(annotation: Any) -> tuple[str, ...]:
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return tuple(str(member.value) for member in annotation)
    return tuple(str(value) for value in typing.get_args(annotation))


def _form_field(name: str, annotation: Any) -> FormField | None:
    """The form's field for a setting of this type; none for nested settings (edited in YAML)."""
    origin = typing.get_origin(annotation)
    if annotation is bool:
        return FormField(name, "flag")
    if annotation is int:
        return FormField(name, "whole")
    if annotation is Decimal:  # an Amount (pydantic keeps its validators apart from the annotation)
        return FormField(name, "amount")
    if origin is Literal:
        return FormField(name, "choice", _options(annotation))
    if origin is list:
        [item] = typing.get_args(annotation)
        return FormField(name, "choices", _options(item))
    return None


# Every top-level setting with a plain value or a list of choices; the nested ones (risk, categories,
# deductions per condition) are edited in the YAML document.
FORM_FIELDS: tuple[FormField, ...] = tuple(
    found for name, info in Policy.model_fields.items() if (found := _form_field(name, info.annotation)) is not None
)


@dataclass(frozen=True)
class DraftError:
    """One thing wrong with a draft: at ``path`` (empty: the whole document), at ``line``/``column`` of the YAML."""

    path: Path
    message: str
    line: int | None = None
    column: int | None = None

    @property
    def field(self) -> str:
        return ".".join(str(part) for part in self.path)


@dataclass
class Draft:
    """A policy as an editor wrote it: its data (``None`` for YAML that does not parse), its YAML text,
    the valid ``policy`` or the errors."""

    document: dict[str, Any] | None
    text: str
    policy: Policy | None = None
    errors: list[DraftError] = field(default_factory=list)

    def errors_at(self, name: str) -> list[str]:
        """The messages for a form's field (the errors of its items included)."""
        return [error.message for error in self.errors if error.path[:1] == (name,)]

    def value(self, name: str) -> Any:
        """What the form shows for a setting: the value as written (``None`` when the document has none)."""
        return self.document.get(name) if self.document else None

    @property
    def digest(self) -> str:
        """The same for the same valid policy, however it was written: what a simulation was of."""
        return digest(self.policy) if self.policy else ""


def digest(policy: Policy) -> str:
    canonical = json.dumps(policy.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def as_yaml(document: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True)


def of_policy(policy: Policy) -> Draft:
    document = policy.model_dump(mode="json")
    return Draft(document=document, text=as_yaml(document), policy=policy)


WHOLE_NUMBER = re.compile(r"-?[0-9]+")


def _typed(kind: FieldKind, values: list[str]) -> Any:
    """A form's value as the document holds it; a whole number that is not one stays text for pydantic to refuse."""
    if kind == "choices":
        return values
    if kind == "flag":
        return bool(values)
    text = values[0].strip() if values else ""
    return int(text) if kind == "whole" and WHOLE_NUMBER.fullmatch(text) else text


def from_form(base: Policy, form: Mapping[str, Sequence[str]], onto: Policy | None = None) -> Draft:
    """The settings as the form sent them (``form``: each field's values) over the ``base`` policy it showed.

    With ``onto`` (a version published since ``base``), only the settings the form changed from ``base``
    are written over ``onto``: what the other version changed stays, unless the form changed it too.
    """
    shown = base.model_dump(mode="json")
    document = (onto or base).model_dump(mode="json")
    for setting in FORM_FIELDS:
        sent = _typed(setting.kind, list(form.get(setting.name, [])))
        if setting.kind == "choices" and sorted(sent) == sorted(shown[setting.name]):
            sent = shown[setting.name]  # the same choices: in the order the document had them
        if onto is None or sent != shown[setting.name]:
            document[setting.name] = sent
    return _judged(document, as_yaml(document), {})


def from_yaml(text: str) -> Draft:
    """The whole document as YAML: a syntax error at its line and column, a field's error at the field's line."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as broken:
        mark = broken.problem_mark or broken.context_mark
        message = " ".join(part for part in (broken.context, broken.problem) if part) or str(broken)
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        return Draft(document=None, text=text, errors=[DraftError((), message, line, column)])
    except yaml.YAMLError as broken:
        return Draft(document=None, text=text, errors=[DraftError((), str(broken))])
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        message = "the document must be the policy's settings, one per line as name: value"
        return Draft(document=None, text=text, errors=[DraftError((), message, 1, 1)])
    duplicates = [
        DraftError(path, f"{path[-1]} is given twice; only one may be", line, column)
        for path, line, column in _duplicates(root, ())
    ]
    draft = _judged(data, text, dict(_places(root, ())))
    if duplicates:
        draft.policy, draft.errors = None, duplicates + draft.errors
    return draft


def _places(node: yaml.Node, path: Path) -> Iterator[tuple[Path, tuple[int, int]]]:
    """Where each field and item of the composed document starts (line and column, from 1)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = (*path, str(key.value))
            yield here, (key.start_mark.line + 1, key.start_mark.column + 1)
            yield from _places(value, here)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            here = (*path, index)
            yield here, (item.start_mark.line + 1, item.start_mark.column + 1)
            yield from _places(item, here)


def _duplicates(node: yaml.Node | None, path: Path) -> Iterator[tuple[Path, int, int]]:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            here = (*path, str(key.value))
            if key.value in seen:
                yield here, key.start_mark.line + 1, key.start_mark.column + 1
            seen.add(key.value)
            yield from _duplicates(value, here)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicates(item, (*path, index))


def _judged(document: dict[str, Any], text: str, places: Mapping[Path, tuple[int, int]]) -> Draft:
    try:
        return Draft(document=document, text=text, policy=Policy.model_validate(document))
    except ValidationError as invalid:
        errors = []
        for error in invalid.errors():
            path = tuple(part for part in error["loc"] if part != "[key]")
            line, column = _nearest(places, path)
            errors.append(DraftError(path, _message(error["type"], error["msg"]), line, column))
        return Draft(document=document, text=text, errors=errors)


def _nearest(places: Mapping[Path, tuple[int, int]], path: Path) -> tuple[int | None, int | None]:
    """The line of the field, or of the nearest field above it that the YAML has (a missing one's parent)."""
    for length in range(len(path), 0, -1):
        if path[:length] in places:
            return places[path[:length]]
    return None, None


def _message(kind: str, message: str) -> str:
    return "not a setting of the policy" if kind == "extra_forbidden" else message.removeprefix("Value error, ")


@dataclass(frozen=True)
class Change:
    """A setting whose value differs between two documents (``None``: absent on that side)."""

    path: str
    before: Any
    after: Any


def changes(before: Mapping[str, Any], after: Mapping[str, Any], prefix: str = "") -> list[Change]:
    """Every leaf setting that differs, by dotted path, in the order of ``after`` then ``before``'s others."""
    found = []
    for key in [*after, *(key for key in before if key not in after)]:
        path = f"{prefix}{key}"
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) or isinstance(new, dict):  # a section, or a category only one side has
            found.extend(changes(_section(old), _section(new), path + "."))
        elif old != new:
            found.append(Change(path, old, new))
    return found


def _section(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}
