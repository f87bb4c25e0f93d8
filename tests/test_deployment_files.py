"""The deployment files users run agree with the code (they are validated here, not run: no Docker engine)."""

import shlex
import tomllib
from pathlib import Path

import yaml

from messages.search_attributes import dev_server_arguments

ROOT = Path(__file__).resolve().parent.parent


def test_docker_compose_registers_the_search_attributes_the_workflows_set() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    registered = [
        argument.split("=", 1)[1]
        for service in compose["services"].values()
        for argument in (service.get("command") or [])
        if isinstance(argument, str) and argument.startswith("--search-attribute=")
    ]
    # dev_server_arguments() is ["--search-attribute", "Name=Type", …]: every second item is a registration.
    assert registered == dev_server_arguments()[1::2], shlex.join(dev_server_arguments())


def test_the_image_copies_every_package_the_wheel_ships() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    copied = {line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("COPY ")}
    assert set(packages) <= copied, f"the Dockerfile does not COPY {sorted(set(packages) - copied)}"
