"""The deployment files users run agree with the specifications and with the code.

They are validated here, not run (no Docker engine, no Kubernetes cluster on the machines the project is built on):
docker-compose.yml against the compose specification's JSON Schema (check-jsonschema's built-in copy), the
Kubernetes example against the API's schemas (kubernetes-validate's offline copy); then every image is pinned,
every variable they set is a setting of ``returnflow.settings.Settings``, what a process needs is given, every
port they name is the one the process listens on, and every ``returnflow`` command they run exists.
"""

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import typer
import yaml

from returnflow.cli import app as cli_app
from returnflow.settings import Settings, environment_variable

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
KUBERNETES_FILES = sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml"))
KUBERNETES_VERSION = "1.30.0"  # the oldest Kubernetes still supported upstream when the example was written

SETTINGS_VARIABLES = {environment_variable(field) for field in Settings.model_fields}
# The process a command starts, as the image runs it.
ROLES = {("python", "-m", "api"): "api", ("python", "worker.py"): "worker", ("python", "-m", "sandbox"): "sandbox"}
# The setting that holds the port each process listens on (the worker: its metrics and health endpoints).
PORT_FIELDS = {"api": "api_port", "worker": "worker_metrics_port", "sandbox": "sandbox_port"}
# What a deployed process cannot do without: the defaults are for one machine (SQLite in the data folder, a
# loopback bind, a session secret of its own per process).
REQUIRED = {
    "api": {
        "DATABASE_URL",
        "RETURNFLOW_TEMPORAL_ADDRESS",
        "RETURNFLOW_CODEC_KEYS",
        "RETURNFLOW_SESSION_SECRET",
        "RETURNFLOW_API_HOST",
    },
    "worker": {
        "DATABASE_URL",
        "RETURNFLOW_TEMPORAL_ADDRESS",
        "RETURNFLOW_CODEC_KEYS",
        "RETURNFLOW_WORKER_METRICS_PORT",
    },
    "sandbox": {"RETURNFLOW_SANDBOX_HOST"},
}
HEALTH_PATHS = {"/health/live", "/health/ready"}


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose_services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def kubernetes_documents() -> list[dict[str, Any]]:
    return [doc for path in KUBERNETES_FILES for doc in yaml.safe_load_all(path.read_text()) if doc]


def kubernetes_containers() -> list[dict[str, Any]]:
    """Every container (init containers included) of every workload in the example."""
    return [
        container
        for doc in kubernetes_documents()
        if doc["kind"] in ("Deployment", "Job")
        for key in ("initContainers", "containers")
        for container in doc["spec"]["template"]["spec"].get(key, [])
    ]


def kubernetes_environment() -> dict[str, str]:
    """What every container gets: the ConfigMap and the Secret (the example of its keys) of the example."""
    environment: dict[str, str] = {}
    for doc in kubernetes_documents():
        if doc["kind"] == "ConfigMap":
            environment.update(doc["data"])
        elif doc["kind"] == "Secret":
            environment.update(doc["stringData"])
    return environment


def default(value: str) -> str:
    """``${NAME:-fallback}`` → ``fallback``; compose fills the variable in from .env, the fallback is ours."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def role_of(command: list[str] | None) -> str | None:
    return ROLES.get(tuple(command or ()))


def settings_for(environment: dict[str, str]) -> Settings:
    """The settings a process would read from ``environment`` (and nothing else: no .env, no test environment)."""
    by_variable = {environment_variable(field): field for field in Settings.model_fields}
    values = {by_variable[name]: default(value) for name, value in environment.items() if name in by_variable}
    return Settings.model_validate(values)


def app_variables(environment: dict[str, str]) -> set[str]:
    return {name for name in environment if name.startswith("RETURNFLOW_") or name == "DATABASE_URL"}


def health_url_port(test: list[str]) -> tuple[int, str]:
    match = re.search(r"http://(?:127\.0\.0\.1|localhost):(\d+)(/[\w/]*)", " ".join(test))
    assert match, f"no health URL in {test}"
    return int(match.group(1)), match.group(2)


# --- the specifications -----------------------------------------------------------------------------------------


def test_docker_compose_follows_the_compose_specification() -> None:
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", KUBERNETES_FILES, ids=lambda path: path.name)
def test_the_kubernetes_example_follows_the_kubernetes_schemas(path: Path) -> None:
    documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert documents
    for document in documents:
        try:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{path.name}: {document['kind']} {document['metadata']['name']}: {error.message}")


def test_the_kubernetes_example_has_a_deployment_for_the_api_and_the_worker_and_a_service() -> None:
    kinds = {(doc["kind"], role_of(container.get("command"))) for doc in kubernetes_documents()
             if doc["kind"] == "Deployment" for container in doc["spec"]["template"]["spec"]["containers"]}  # fmt: skip
    assert kinds == {("Deployment", "api"), ("Deployment", "worker")}
    assert [doc["metadata"]["name"] for doc in kubernetes_documents() if doc["kind"] == "Service"] == ["returnflow-api"]


# --- images -----------------------------------------------------------------------------------------------------


def pinned(image: str) -> bool:
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag not in ("", "latest")


def test_every_image_is_pinned_to_a_version() -> None:
    images = [service["image"] for service in compose_services().values()]
    images += [container["image"] for container in kubernetes_containers()]
    images += [line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("FROM ")]
    assert images
    assert [image for image in images if not pinned(image)] == []


def test_the_image_copies_every_package_the_wheel_ships() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    copied = {line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("COPY ")}
    assert set(packages) <= copied, f"the Dockerfile does not COPY {sorted(set(packages) - copied)}"


# --- settings ---------------------------------------------------------------------------------------------------


def test_every_variable_the_deployment_files_set_is_a_setting() -> None:
    named = {name for service in compose_services().values() for name in app_variables(service.get("environment", {}))}
    named |= app_variables(kubernetes_environment())
    named |= {var["name"] for container in kubernetes_containers() for var in container.get("env", [])}
    assert sorted(named - SETTINGS_VARIABLES) == []
    for service in compose_services().values():
        settings_for(service.get("environment", {}))  # and every value is one the setting accepts
    settings_for(kubernetes_environment())


def test_every_process_gets_the_settings_it_cannot_do_without() -> None:
    for name, service in compose_services().items():
        role = role_of(service.get("command"))
        if role:
            missing = REQUIRED[role] - set(service.get("environment", {}))
            assert not missing, f"docker-compose.yml: {name} lacks {sorted(missing)}"
    for container in kubernetes_containers():
        role = role_of(container.get("command"))
        if role:
            missing = REQUIRED[role] - set(kubernetes_environment())
            assert not missing, f"deploy/kubernetes: {container['name']} lacks {sorted(missing)}"


def test_every_secret_compose_asks_for_is_in_the_example_env_file() -> None:
    asked = set(re.findall(r"\$\{(\w+)", COMPOSE_FILE.read_text()))
    example = {line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines() if "=" in line}
    assert asked and sorted(asked - example) == []


# --- ports ------------------------------------------------------------------------------------------------------


def test_compose_ports_and_healthchecks_are_the_ports_the_processes_listen_on() -> None:
    for name, service in compose_services().items():
        role = role_of(service.get("command"))
        if role is None:
            continue
        listens = getattr(settings_for(service["environment"]), PORT_FIELDS[role])
        published = [int(str(mapping).rsplit(":", 1)[1]) for mapping in service.get("ports", [])]
        assert all(port == listens for port in published), f"{name} listens on {listens}, publishes {published}"
        port, path = health_url_port(service["healthcheck"]["test"])
        assert port == listens, f"{name}'s healthcheck asks port {port}; it listens on {listens}"
        assert role == "sandbox" or path == "/health/ready", f"{name}'s healthcheck asks {path}"


def test_compose_addresses_lead_to_the_services_that_listen_there() -> None:
    services = compose_services()
    api, sandbox, ui = services["api"], services["sandbox"], services["temporal-ui"]
    app = settings_for(api["environment"])
    api_port, sandbox_port = app.api_port, settings_for(sandbox["environment"]).sandbox_port
    assert app.temporal_address == "temporal:7233" and "7233:7233" in services["temporal"]["ports"]
    assert app.sandbox_url == f"http://sandbox:{sandbox_port}"
    assert settings_for(sandbox["environment"]).sandbox_carrier_events_url == f"http://api:{api_port}/v1/carrier-events"
    # The browser reaches Temporal UI and the API at their published ports, and the API admits the UI's origin.
    ui_port = int(ui["environment"]["TEMPORAL_UI_PORT"])
    assert f"{ui_port}:{ui_port}" in ui["ports"] and f"{api_port}:{api_port}" in api["ports"]
    assert ui["environment"]["TEMPORAL_CODEC_ENDPOINT"] == f"http://localhost:{api_port}/codec"
    assert app.temporal_ui_origins == [f"http://localhost:{ui_port}"]


def test_kubernetes_ports_and_probes_are_the_ports_the_processes_listen_on() -> None:
    settings = settings_for(kubernetes_environment())
    deployments = [doc for doc in kubernetes_documents() if doc["kind"] == "Deployment"]
    for deployment in deployments:
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            role = role_of(container["command"])
            assert role, container["command"]
            ports = {port["name"]: port["containerPort"] for port in container["ports"]}
            assert list(ports.values()) == [getattr(settings, PORT_FIELDS[role])], container["name"]
            probes = [container[probe]["httpGet"] for probe in ("startupProbe", "livenessProbe", "readinessProbe")]
            assert all(probe["port"] in ports for probe in probes), container["name"]
            assert {probe["path"] for probe in probes} == HEALTH_PATHS, container["name"]
            assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    for service in (doc for doc in kubernetes_documents() if doc["kind"] == "Service"):
        [target] = [
            d for d in deployments if d["spec"]["template"]["metadata"]["labels"] == service["spec"]["selector"]
        ]
        names = {port["name"] for c in target["spec"]["template"]["spec"]["containers"] for port in c["ports"]}
        assert {port["targetPort"] for port in service["spec"]["ports"]} <= names


def test_the_kubernetes_example_fits_two_cores() -> None:
    def cores(quantity: str) -> float:
        return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)

    requested = sum(
        doc["spec"]["replicas"] * cores(container["resources"]["requests"]["cpu"])
        for doc in kubernetes_documents()
        if doc["kind"] == "Deployment"
        for container in doc["spec"]["template"]["spec"]["containers"]
    )
    assert 0 < requested <= 2.0


# --- commands and start-up order --------------------------------------------------------------------------------


def returnflow_commands() -> list[list[str]]:
    commands = [service.get("command") or [] for service in compose_services().values()]
    commands += [container["command"] for container in kubernetes_containers()]
    return [command[1:] for command in commands if command[:1] == ["returnflow"]]


def test_every_returnflow_command_the_deployment_files_run_exists() -> None:
    group = typer.main.get_command(cli_app)
    missing = []
    for words in returnflow_commands():
        command: Any = group
        for word in words:
            command = command.commands.get(word) if hasattr(command, "commands") else None
            if command is None:
                missing.append(" ".join(words))
                break
    assert {"db upgrade", "temporal setup"} <= {" ".join(words) for words in returnflow_commands()}
    assert missing == []


def test_compose_registers_the_search_attributes_with_temporal_setup_before_the_app_starts() -> None:
    services = compose_services()
    # Registration is `returnflow temporal setup`'s (messages/search_attributes.py), not a dev server's flags.
    assert "--search-attribute" not in COMPOSE_FILE.read_text()
    [setup] = [name for name, s in services.items() if s.get("command") == ["returnflow", "temporal", "setup"]]
    for name in ("api", "worker"):
        condition = services[name]["depends_on"][setup]["condition"]
        assert condition == "service_completed_successfully", name


def test_every_compose_service_has_a_healthcheck_or_is_a_one_shot_the_others_wait_for() -> None:
    services = compose_services()
    one_shots = {
        name
        for service in services.values()
        for name, dependency in (service.get("depends_on") or {}).items()
        if dependency["condition"] == "service_completed_successfully"
    }
    for name, service in services.items():
        if name in one_shots:
            assert service["restart"].startswith("on-failure"), name
        else:
            assert "healthcheck" in service, f"{name} has no healthcheck"
            assert service.get("restart") == "unless-stopped", name


def test_compose_runs_two_workers_and_mounts_only_files_that_exist() -> None:
    services = compose_services()
    assert services["worker"]["deploy"]["replicas"] == 2
    mounts = [volume.split(":")[0] for service in services.values() for volume in service.get("volumes", [])]
    assert [source for source in mounts if source.startswith(".") and not (ROOT / source).exists()] == []
