"""Every typed activity reference in messages/ has one implementation, with the same argument and result types.

The workflow calls an activity by its reference's name and decodes the result as
the reference's type; a mismatch here would only show at run time.
"""

import importlib
import inspect
import pkgutil
import typing
from collections.abc import Callable
from typing import Any

import activities
import messages
from messages.activity_ref import ActivityRef


def _modules(package: Any) -> list[Any]:
    return [
        importlib.import_module(f"{package.__name__}.{info.name}") for info in pkgutil.iter_modules(package.__path__)
    ]


def references() -> dict[str, ActivityRef[Any, Any]]:
    found: dict[str, ActivityRef[Any, Any]] = {}
    for module in _modules(messages):
        for value in vars(module).values():
            if isinstance(value, ActivityRef):
                assert found.get(value.name, value) == value, f"two references named {value.name}"
                found[value.name] = value
    return found


def implementations() -> dict[str, Callable[..., Any]]:
    found: dict[str, Callable[..., Any]] = {}
    for module in _modules(activities):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            for _, function in inspect.getmembers(cls, inspect.isfunction):
                definition = getattr(function, "__temporal_activity_definition", None)
                if definition is not None:
                    assert definition.name not in found, f"{definition.name} is implemented twice"
                    found[definition.name] = function
    return found


def test_every_reference_has_an_implementation_and_every_implementation_a_reference() -> None:
    refs, impls = references(), implementations()
    assert refs, "no activity references found in messages/"
    assert set(refs) == set(impls), {
        "without implementation": set(refs) - set(impls),
        "without reference": set(impls) - set(refs),
    }


def test_implementations_take_and_return_what_their_reference_says() -> None:
    impls = implementations()
    for name, ref in references().items():
        hints = typing.get_type_hints(impls[name])
        result = hints.pop("return")
        assert list(hints.values()) == [ref.arg_type], f"{name} takes {hints}, its reference {ref.arg_type}"
        assert result == ref.result_type, f"{name} returns {result}, its reference {ref.result_type}"
