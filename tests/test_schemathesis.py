"""Property-based fuzzing of the whole API from its own ``/openapi.json`` (schemathesis).

Every operation is called with generated valid (positive) and invalid (negative)
data, over real HTTP, as a service, on the real stack (Temporal dev server, a
worker, the sandbox, the database). Every answer goes through schemathesis's
default checks: no 5xx, status codes, content types, headers and bodies as
documented, invalid data rejected, valid data accepted, authentication not ignored.

Bounded: ``MAX_EXAMPLES`` per operation and mode, derandomized so a run is
reproducible (set ``RETURNFLOW_FUZZ_SEED`` to explore other examples).
"""

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Ok
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from returnflow.serve import serve_app
from store.api_keys import create_api_key
from store.db import Database
from tests.api_client import Callers, put_order
from tests.conftest import running_worker, settings_for
from tests.factories import NOW, return_body

MAX_EXAMPLES = int(os.environ.get("RETURNFLOW_FUZZ_EXAMPLES", "12"))
SEED = os.environ.get("RETURNFLOW_FUZZ_SEED")
# The contract's error semantics: valid JSON that breaks a rule (an unknown order, an ineligible line, a
# policy that does not validate) is a 422. Schemathesis's ``positive_data_acceptance`` counts every 4xx other
# than 401/403/404/409/429 as "valid data refused"; 422 is added to the statuses it expects, and 412 (an
# If-Match naming another policy version than the current one), nothing else is changed in the default checks.
CONFIG = {
    "checks": {
        "positive_data_acceptance": {
            "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "412", "422", "429", "5xx"]
        }
    }
}

# Known failures, each owned elsewhere: (operation, failure title) → why. A known failure may stop showing up
# (fuzzing does not promise to find it every run); delete its entry when its cause is fixed.
KNOWN_FAILURES: dict[tuple[str, str], str] = {}


@pytest.fixture
async def served(
    local_env: WorkflowEnvironment, database: Database, sandbox_url: str
) -> AsyncIterator[tuple[str, str]]:
    """The app as the ``api`` fixture serves it, without the creation rate limit (fuzzing creates fast)."""
    settings = settings_for(sandbox_url, database).model_copy(update={"create_rate_per_minute": 0})
    async with database.transaction() as session:
        _, service_key = await create_api_key(session, "service", label="schemathesis")
    app = create_app(settings, temporal=local_env.client, database=database)
    async with running_worker(local_env.client, settings, database), serve_app(app) as base_url:
        yield base_url, service_key


def fuzz(base_url: str, key: str) -> tuple[Counter[int], list[str]]:
    """Run every operation in both modes; returns the statuses answered (how many of each) and what failed."""
    # The key is given as the HTTPBearer scheme's credential (not as a fixed header), so that schemathesis
    # knows the requests are authenticated: it leaves it out on purpose to check for 401s (ignored_auth) and
    # does not count the header as part of a negative case.
    config = schemathesis.Config.from_dict({**CONFIG, "auth": {"openapi": {"HTTPBearer": {"bearer": key}}}})
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", config=config)
    failures: dict[str, str] = {}
    statuses: Counter[int] = Counter()
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"an operation of /openapi.json cannot be used: {result.err()}"
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz_operation(result.ok(), mode, base_url, statuses, failures)
    return statuses, list(failures.values())


def fuzz_operation(
    operation: APIOperation, mode: GenerationMode, base_url: str, statuses: Counter[int], failures: dict[str, str]
) -> None:
    """Call one operation with up to ``MAX_EXAMPLES`` generated requests; count statuses, collect failures."""

    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=SEED is None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Case) -> None:
        response = case.call(base_url=base_url, timeout=60)
        statuses[response.status_code] += 1
        try:
            case.validate_response(response)
        except (FailureGroup, Failure) as failed:
            group = failed.exceptions if isinstance(failed, FailureGroup) else (failed,)
            for failure in group:
                if (operation.label, failure.title) in KNOWN_FAILURES:
                    continue
                # One entry per operation, mode and kind of failure; the first example is kept.
                label = f"{operation.label} [{mode.value}] {failure.title}"
                failures.setdefault(label, f"{label}\n{failed}"[:3000])

    if SEED is not None:
        run = hypothesis.seed(int(SEED))(run)
    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE, operation.label  # nothing to make invalid (no input at all)


async def test_the_api_survives_fuzzing_and_matches_its_schema(served: tuple[str, str]) -> None:
    base_url, key = served

    statuses, failures = await asyncio.to_thread(fuzz, base_url, key)

    calls = sum(statuses.values())
    assert calls > 100, f"only {calls} requests were made"
    assert sum(n for status, n in statuses.items() if status < 300) > 50, f"few requests got through: {statuses}"
    assert not any(status >= 500 for status in statuses), statuses
    assert not failures, f"{len(failures)} failing check(s) over {calls} requests:\n\n" + "\n\n".join(failures)


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
