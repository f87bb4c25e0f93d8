"""The layers import only what CONTRIBUTING.md allows: workflows stay deterministic, domain stays pure."""

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = {
    "domain",
    "messages",
    "workflows",
    "activities",
    "store",
    "connectors",
    "api",
    "returnflow",
    "sandbox",
    "worker",
    "bench",
    "assist",
}
# package → the project packages and third-party modules it may import.
ALLOWED = {
    "domain": ({"domain"}, {"pydantic", "annotated_types"}),
    "messages": ({"domain", "messages"}, {"pydantic", "temporalio.common"}),
    "workflows": ({"domain", "messages", "workflows"}, {"pydantic", "temporalio"}),
    "activities": ({"domain", "messages", "store", "connectors", "returnflow", "activities"}, None),
}


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def standard_library(module: str) -> bool:
    return module.split(".")[0] in sys.stdlib_module_names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_layer_imports_only_what_it_may(package: str) -> None:
    projects, third_party = ALLOWED[package]
    wrong = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for module in imports(path):
            top = module.split(".")[0]
            if top in PROJECT_PACKAGES:
                if top not in projects:
                    wrong.append(f"{path.relative_to(ROOT)} imports {module}")
            elif (
                not standard_library(module)
                and third_party is not None
                and not any(module == allowed or module.startswith(allowed + ".") for allowed in third_party)
            ):
                wrong.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not wrong, "\n".join(wrong)


# What a workflow runs (workflows/, and the domain/ and messages/ code it calls) must not read the clock, draw
# random numbers or reach the environment: a replay would then take another path (CONTRIBUTING.md). Temporal's
# sandbox does not re-check this at run time for code imported once (worker.workflow_runner, ADR 0011), so
# it is checked here, in the source.
NONDETERMINISTIC_MODULES = frozenset({"random", "secrets", "uuid", "time", "os", "threading", "socket", "subprocess"})
# Calls by attribute: datetime.now(), date.today() (workflow.now() is the workflow's clock).
NONDETERMINISTIC_CALLS = {"datetime": {"now", "utcnow", "today"}, "date": {"today"}}
DETERMINISTIC_PACKAGES = ("workflows", "domain", "messages")


def nondeterminism(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"imports {name}" for name in names if name.split(".")[0] in NONDETERMINISTIC_MODULES]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if node.func.attr in NONDETERMINISTIC_CALLS.get(name, set()):
                found.append(f"calls {name}.{node.func.attr}() on line {node.lineno}")
    return found


@pytest.mark.parametrize("package", DETERMINISTIC_PACKAGES)
def test_workflow_code_reads_no_clock_randomness_or_environment(package: str) -> None:
    wrong = [
        f"{path.relative_to(ROOT)} {problem}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for problem in nondeterminism(path.read_text())
    ]
    assert not wrong, "\n".join(wrong)


def test_the_nondeterminism_check_finds_what_it_looks_for() -> None:
    source = (
        "import random\nfrom uuid import uuid4\nimport datetime\nfrom temporalio import workflow\n"
        "def f():\n    datetime.datetime.now()\n    workflow.now()\n    date.today()\n"
    )
    assert nondeterminism(source) == [
        "imports random",
        "imports uuid",
        "calls datetime.now() on line 6",
        "calls date.today() on line 8",
    ]
