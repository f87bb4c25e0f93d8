"""The deployment files users run agree with the code (they are validated here, not run: no Docker engine)."""

import shlex
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
