"""Property-based fuzzing of the whole API from its own ``/openapi.json`` (schemathesis).

The run is the one an outside tester would make: ``schemathesis run <url>/openapi.json
--checks all`` with every phase (examples, coverage, fuzzing, stateful through the
OpenAPI links), over real HTTP, on the real stack (Temporal dev server, a worker, the
sandbox, the database). Every answer goes through every check schemathesis has (no 5xx,
statuses, content types, headers and bodies as documented, invalid data rejected, valid
data accepted, authentication not ignored, ``Allow`` on 405, resources usable after they
are made…) and one of ours (``tests/schemathesis_hooks.py``): valid data is never
refused for its shape. The run must end with no failure at all.

One setting departs from schemathesis's defaults, as the contract says: 422 is how the API
answers valid JSON that breaks a rule (an unknown order, a window that has passed), so
``positive_data_acceptance`` expects it too, and 412 (an ``If-Match`` naming another policy
version than the current one is a valid request refused by its precondition), and 415 (a
multipart upload whose bytes are not an image: ``POST /v1/evidence`` judges the type from the
file's content, which the schema cannot say). ``/health/ready`` is left out (``UNFUZZED``): its 503
is how it says Temporal or the database did not answer in time, which a loaded 2-core machine
makes happen now and then; tests/test_operations.py checks its answers.
Operator-only operations are called with an
operator key, the others with a service key. Two orders and their returns are made before
the run, and the configuration's dictionaries offer their ids, recent times, a currency and
prices of cents (with some probability, generation does the rest): orders and returns the
run makes are then often valid, so the stateful phase follows links to what it created.

Bounded: ``MAX_EXAMPLES`` per operation and phase, deterministic so a run is reproducible
(set ``RETURNFLOW_FUZZ_SEED`` to explore other examples, ``RETURNFLOW_FUZZ_EXAMPLES`` for more).
"""

import asyncio
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from domain.policy import DEFAULT_POLICY
from returnflow.serve import serve_app
from sandbox.app import create_app as create_sandbox_app
from store.api_keys import create_api_key
from store.db import Database
from tests.api_client import Callers, put_order
from tests.conftest import migrated_database, running_worker, settings_for
from tests.factories import NOW, new_order_id, order_body, return_body

MAX_EXAMPLES = int(os.environ.get("RETURNFLOW_FUZZ_EXAMPLES", "10"))
# Scenarios of the stateful phase (each a few calls following the OpenAPI links).
STATEFUL_EXAMPLES = 3 * MAX_EXAMPLES
SEED = os.environ.get("RETURNFLOW_FUZZ_SEED")
PHASES = "examples,coverage,fuzzing,stateful"
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
# Operations not fuzzed: readiness answers 503 whenever a dependency is slow, as it must (module docstring).
UNFUZZED = ["/health/ready"]
# Operations only an operator may call (the others are called as a service).
OPERATOR_PATHS = r"^/v1/(returns/\{return_id\}/(review|inspection|resolve)|tickets/)"
# The whole run, both phases of generation and the stateful scenarios, on 2 shared cores.
TIMEOUT_SECONDS = 900


def schemathesis_config(served: "Served") -> str:
    """``schemathesis.toml`` for the run: credentials, our check, 422 among the answers to valid data, and the
    resources made before the run with values that make valid orders and returns likely."""
    times = [(NOW - timedelta(days=days)).isoformat() for days in (1, 3)]
    dictionaries = {
        "orders": served.order_ids,
        "returns": served.return_ids,
        "currencies": ["USD", "EUR"],
        "prices": ["19.99", "5.00", "120.00"],
        "times": times,
        "lines": ["L1", "L2"],
        "quantities": [1],
    }
    bindings = {
        "path.order_id": ("orders", 0.5),
        "path.return_id": ("returns", 0.5),
        "body.order_id": ("orders", 0.8),
        "body.currency": ("currencies", 0.9),
        "body.lines[*].unit_price": ("prices", 0.9),
        "body.payments[*].amount": ("prices", 0.9),
        "body.placed_at": ("times", 0.9),
        "body.delivered_at": ("times", 0.9),
        "body.lines[*].line_id": ("lines", 0.8),
        "body.lines[*].quantity": ("quantities", 0.8),
    }
    lines = [
        f"hooks = {json.dumps(str(HOOKS))}",
        "[auth.openapi.HTTPBearer]",
        f'bearer = "{served.service_key}"',
        "[checks.positive_data_acceptance]",
        'expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "412", "415", "422", "429", "5xx"]',
        "[phases.stateful]",
        f"generation.max-examples = {STATEFUL_EXAMPLES}",
        # Operator-only operations, with an operator key. Outside the stateful phase: there the headers of one
        # operation would be sent to all of them.
        "[[operations]]",
        f"include-path-regex = {json.dumps(OPERATOR_PATHS)}",
        "phases.stateful.enabled = false",
        f'headers = {{ Authorization = "Bearer {served.operator_key}" }}',
    ]
    for name, values in dictionaries.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}"]
    lines.append("[parameters]")
    for key, (dictionary, probability) in bindings.items():
        lines.append(f'"{key}" = {{ dictionary = "{dictionary}", probability = {probability} }}')
    return "\n".join(lines) + "\n"


class CountStatuses:
    """ASGI middleware counting the statuses the app answers with."""

    def __init__(self, app: ASGIApp, statuses: Counter[int]) -> None:
        self.app = app
        self.statuses = statuses

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counting(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.statuses[message["status"]] += 1
            await send(message)

        await self.app(scope, receive, counting if scope["type"] == "http" else send)


@dataclass
class Served:
    base_url: str
    service_key: str
    operator_key: str
    statuses: Counter[int]
    operations: int
    order_ids: list[str] = field(default_factory=list)
    return_ids: list[str] = field(default_factory=list)


@pytest.fixture
async def served(local_env: WorkflowEnvironment, database: Database, tmp_path: Path) -> AsyncIterator[Served]:
    """The app as the ``api`` fixture serves it, without the creation rate limit (fuzzing creates fast), on a
    database and a sandbox of its own: what earlier tests left in the shared ones (hundreds of returns,
    endpoints and notifications due, sandbox state) must not decide how fast the fuzzing's calls answer."""
    backend = "sqlite" if database.url.startswith("sqlite") else "postgresql"
    async with (
        migrated_database(backend, tmp_path) as own_database,
        serve_app(create_sandbox_app()) as sandbox_url,
        _served(local_env, own_database, sandbox_url) as served,
    ):
        yield served


@asynccontextmanager
async def _served(local_env: WorkflowEnvironment, database: Database, sandbox_url: str) -> AsyncIterator[Served]:
    settings = settings_for(sandbox_url, database).model_copy(update={"create_rate_per_minute": 0})
    async with database.transaction() as session:
        _, service_key = await create_api_key(session, "service", label="schemathesis")
        _, operator_key = await create_api_key(session, "operator", label="schemathesis")
    app = create_app(settings, temporal=local_env.client, database=database)
    operations = sum(len(operations) for operations in app.openapi()["paths"].values())
    statuses: Counter[int] = Counter()
    async with running_worker(local_env.client, settings, database), serve_app(CountStatuses(app, statuses)) as url:
        served = Served(url, service_key, operator_key, statuses, operations)
        await make_resources(served)
        statuses.clear()
        yield served


async def make_resources(served: Served) -> None:
    """Orders and returns for the run to find (by the dictionaries of its configuration), under the default policy."""
    headers = {"Authorization": f"Bearer {served.service_key}"}
    async with httpx.AsyncClient(base_url=served.base_url, headers=headers, timeout=30) as client:
        assert (await client.put("/v1/policy", json=DEFAULT_POLICY.model_dump(mode="json"))).status_code == 200
        for _ in range(2):
            order_id = new_order_id()
            assert (await client.put(f"/v1/orders/{order_id}", json=order_body())).status_code == 201
            created = await client.post("/v1/returns", json=return_body(order_id=order_id))
            assert created.status_code == 201, created.text
            served.order_ids.append(order_id)
            served.return_ids.append(created.json()["id"])


@dataclass
class Run:
    exit_code: int
    output: str
    seconds: float

    def figure(self, pattern: str) -> int:
        found = re.search(pattern, self.output)
        return int(found.group(1)) if found else -1


async def run_schemathesis(served: Served, workdir: Path) -> Run:
    """``schemathesis run … --checks all`` with every phase, as a separate process, against ``served``."""
    config = workdir / "schemathesis.toml"
    config.write_text(schemathesis_config(served))
    generation = ["--seed", SEED] if SEED else ["--generation-deterministic"]
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "run",
        f"{served.base_url}/openapi.json",
        "--checks",
        "all",
        *[argument for path in UNFUZZED for argument in ("--exclude-path", path)],
        "--phases",
        PHASES,
        "--max-examples",
        str(MAX_EXAMPLES),
        *generation,
        "--workers",
        "1",
        "--request-timeout",
        "60",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(workdir / "report"),
    ]
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=workdir,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "160"},
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        raise
    return Run(process.returncode or 0, output.decode(errors="replace"), time.monotonic() - started)


async def test_the_api_passes_every_schemathesis_check_in_every_phase(served: Served, tmp_path: Path) -> None:
    run = await run_schemathesis(served, tmp_path)

    summary = run.output[run.output.find("SUMMARY") :] if "SUMMARY" in run.output else run.output[-3000:]
    phase = re.compile(r"\(in [0-9.]+s\)|API Links|Scenarios")
    phases = "\n".join(line for line in run.output.splitlines() if phase.search(line))
    print(f"schemathesis, {run.seconds:.0f} s:\n{phases}\n{summary}")
    assert run.exit_code == 0, f"schemathesis failed (exit {run.exit_code}):\n{run.output[-30000:]}"
    assert run.figure(r"Tested: (\d+)") == served.operations - len(UNFUZZED), summary
    assert run.figure(r"API Links: +(\d+) covered") > 0, "the stateful phase followed no link"
    calls = sum(served.statuses.values())
    assert calls > 500, f"only {calls} requests were made"
    assert sum(n for status, n in served.statuses.items() if status < 300) > 50, served.statuses
    assert not any(status >= 500 for status in served.statuses), served.statuses


async def test_nul_characters_are_refused_not_a_500(api: Callers) -> None:
    """Found by fuzzing on PostgreSQL, which cannot store U+0000: these were 500s."""
    order_id = await put_order(api)
    body = return_body(
        order_id=order_id, lines=[{"line_id": "L1", "quantity": 1, "reason": "defective", "comment": "broken\x00"}]
    )
    answers = {
        "carrier event": await api.service.post(
            "/v1/carrier-events",
            json={"tracking_number": "5\x00v", "event": "picked_up", "occurred_at": NOW.isoformat()},
        ),
        "query": await api.service.get("/v1/webhook-deliveries", params={"endpoint_id": "\x00"}),
        "return comment": await api.service.post("/v1/returns", json=body),
        "list filter": await api.operator.get("/v1/returns", params={"customer_id": "a\x00b"}),
    }

    for what, answer in answers.items():
        assert answer.status_code == 422, (what, answer.text)
        assert answer.json()["errors"][0]["code"] == "nul_character", what
    assert answers["return comment"].json()["errors"][0]["field"] == "lines.0.comment"
    # A backslash followed by "u0000" is ordinary text.
    fine = await api.service.post(
        "/v1/returns/preview",
        json={**body, "lines": [{"line_id": "L1", "quantity": 1, "reason": "defective", "comment": "C:\\u0000"}]},
    )
    assert fine.status_code == 200, fine.text


async def test_times_in_queries_must_be_rfc3339(api: Callers) -> None:
    """Found by fuzzing: a number of seconds since 1970 was taken for a time."""
    for value in ("1063969038.59", "2026-01-01", "2026-01-01T00:00:00"):
        answer = await api.service.get("/v1/returns", params={"created_from": value})
        assert answer.status_code == 422, (value, answer.text)
        assert answer.json()["errors"][0]["field"] == "created_from"
    assert (await api.service.get("/v1/returns", params={"created_from": NOW.isoformat()})).status_code == 200
