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
