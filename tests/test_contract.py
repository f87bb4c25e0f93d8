"""The served ``/openapi.json`` agrees with the integration contract (``CONTRACT.md``).

The contract is read as its readers read it: every ``METHOD /v1/…`` it names, the
JSON examples of the order, the return request and the Return (their field names
and the ``a|b|c`` enumerations), the list of statuses, and the promise that errors
are ``application/problem+json``.
"""

import json
import os
import re
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from temporalio.client import Client

from api.app import create_app
from returnflow.settings import Settings

# The contract lives in shared/ beside the repository (RETURNFLOW_CONTRACT to point elsewhere).
_CANDIDATES = [Path(os.environ["RETURNFLOW_CONTRACT"])] if os.environ.get("RETURNFLOW_CONTRACT") else []
_CANDIDATES += [Path(__file__).resolve().parents[2] / "shared" / "CONTRACT.md", Path("/work/shared/CONTRACT.md")]
CONTRACT = next((path for path in _CANDIDATES if path.exists()), _CANDIDATES[0])
if not CONTRACT.exists() and os.environ.get("CI"):
    raise RuntimeError(f"CONTRACT.md not found (looked at {[str(p) for p in _CANDIDATES]}); CI must check it")
pytestmark = pytest.mark.skipif(not CONTRACT.exists(), reason=f"no contract at {CONTRACT}")

# Paths the contract names that the API does not serve yet. Each is a known gap, listed here so that
# it is visible; remove it when it is built (the test fails while an entry is no longer missing).
# Contract paths added for open issues and not served yet; each leaves this list when it is built.
EXPECTED_MISSING: set[tuple[str, str]] = set()
# The Return's top-level fields, as the contract lists them.
RETURN_FIELDS = {
    "id",
    "order_id",
    "customer_id",
    "type",
    "status",
    "priority",
    "lines",
    "decision",
    "logistics",
    "refund",
    "timeline",
    "policy_version",
    "created_at",
    "updated_at",
}
ENUMERATION = re.compile(r"^[a-z0-9_]+(\|[a-z0-9_]+)+$")
# Values the API has beyond an enumeration the contract spells out (where → values). Removing or renaming a
# value the contract names is always a failure; an addition must be listed here, so that it is a decision
# (and a reason to update the contract), not an accident.
ENUM_ADDITIONS: dict[str, set[str]] = {
    # A failed undo step can be run again, or marked as undone by hand (domain/attention.py).
    "Return.attention.actions[]": {
        "retry_compensation",
        "mark_compensated",
        "rebook_pickup",
        "switch_to_drop_off",
        "retry_booking",
    },
    # The carrier missed a booked pickup slot (rebook it or switch to drop-off), or refused to book the
    # parcel at all (try again, book a pickup, switch to drop-off or cancel) (domain/attention.py).
    "Return.attention.reason": {"pickup_missed", "booking_failed"},
}


def contract_text() -> str:
    return CONTRACT.read_text()


def contract_paths() -> set[tuple[str, str]]:
    """``(METHOD, path)`` for every ``GET|PUT|POST|DELETE /v1/…`` in the contract, parameters as ``{}``."""
    found = re.findall(r"\b(GET|PUT|POST|DELETE|PATCH) (/v1/[^\s`?)]*)", contract_text())
    return {(method, normalize(path)) for method, path in found}


def normalize(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path.rstrip("/"))


def contract_example(after: str) -> dict[str, Any]:
    """The JSON block that follows the text ``after`` in the contract."""
    match = re.search(re.escape(after) + r".*?```json\n(.*?)\n```", contract_text(), re.S)
    assert match, f"the contract has no JSON example after {after!r}"
    return cast(dict[str, Any], json.loads(match.group(1)))


def contract_statuses() -> list[str]:
    match = re.search(r"Statuses on the way:(.*?)\n\n", contract_text(), re.S)
    assert match, "the contract no longer lists the statuses"
    return re.findall(r"`([a-z_]+)`", match.group(1))


@pytest.fixture(scope="module")
async def openapi() -> dict[str, Any]:
    """The document the app serves. Only ``/openapi.json`` is asked for: the lifespan never runs and the
    placeholder Temporal client is never used."""
    app = create_app(Settings(), temporal=cast(Client, object()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        response = await client.get("/openapi.json")
    assert response.status_code == 200
    return cast(dict[str, Any], response.json())


def served_paths(openapi: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), normalize(path)) for path, operations in openapi["paths"].items() for method in operations}


def resolve(openapi: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The schema(s) ``schema`` stands for: ``$ref`` followed, ``anyOf``/``allOf`` alternatives (not null)."""
    if "$ref" in schema:
        return resolve(openapi, openapi["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]])
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in schema:
            return [
                resolved
                for option in schema[combinator]
                if option.get("type") != "null"
                for resolved in resolve(openapi, option)
            ]
    return [schema]


def mismatches(openapi: dict[str, Any], example: Any, schema: dict[str, Any], where: str) -> list[str]:
    """Where the contract's example names a field the schema lacks, or an enumeration the schema disagrees with."""
    options = resolve(openapi, schema)
    if isinstance(example, dict):
        objects = [option for option in options if "properties" in option]
        if not objects:
            return [f"{where}: the contract has an object, the schema does not"]
        found = []
        for key, value in example.items():
            holder = next((option for option in objects if key in option["properties"]), None)
            if holder is None:
                found.append(f"{where}.{key}: missing from the schema")
            else:
                found += mismatches(openapi, value, holder["properties"][key], f"{where}.{key}")
        return found
    if isinstance(example, list) and example:
        arrays = [option for option in options if option.get("type") == "array"]
        if not arrays:
            return [f"{where}: the contract has a list, the schema does not"]
        return mismatches(openapi, example[0], arrays[0]["items"], f"{where}[]")
    if isinstance(example, str) and ENUMERATION.match(example):
        promised = set(example.split("|"))
        enums = [set(option["enum"]) for option in options if "enum" in option]
        served = set().union(*enums) if enums else promised
        added = ENUM_ADDITIONS.get(where, set())
        if promised - served or served - promised - added:
            return [
                f"{where}: the contract says {sorted(promised)}, the schema {sorted(served)}"
                f"{f' (known additions: {sorted(added)})' if added else ''}"
            ]
    return []


def operation(openapi: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return cast(dict[str, Any], openapi["paths"][path][method.lower()])


def request_schema(openapi: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    body = operation(openapi, method, path)["requestBody"]["content"]["application/json"]["schema"]
    return cast(dict[str, Any], body)


def response_schema(openapi: dict[str, Any], method: str, path: str, status: str) -> dict[str, Any]:
    answer = operation(openapi, method, path)["responses"][status]["content"]["application/json"]["schema"]
    return cast(dict[str, Any], answer)


def test_the_contract_names_the_paths_this_test_knows() -> None:
    paths = contract_paths()
    assert ("POST", "/v1/returns") in paths and ("GET", "/v1/returns/{}") in paths
    assert len(paths) >= 15, paths


def test_every_contract_path_is_served(openapi: dict[str, Any]) -> None:
    missing = contract_paths() - served_paths(openapi)

    unexpected = missing - EXPECTED_MISSING
    assert not unexpected, f"contract paths the API does not serve: {sorted(unexpected)}"
    built = EXPECTED_MISSING - missing
    assert not built, f"now served, remove from EXPECTED_MISSING: {sorted(built)}"


def test_the_return_has_the_contract_fields(openapi: dict[str, Any]) -> None:
    example = contract_example("The Return:")
    assert set(example) == RETURN_FIELDS, "the contract's Return example changed; update RETURN_FIELDS"
    for method, path, status in (("POST", "/v1/returns", "201"), ("GET", "/v1/returns/{return_id}", "200")):
        schema = resolve(openapi, response_schema(openapi, method, path, status))[0]
        assert set(schema["properties"]) >= RETURN_FIELDS, (path, RETURN_FIELDS - set(schema["properties"]))
        assert set(schema.get("required", [])) | {"type", "priority", "timeline"} >= RETURN_FIELDS, path
        assert not mismatches(openapi, example, response_schema(openapi, method, path, status), "Return")


def test_the_requests_have_the_contract_fields(openapi: dict[str, Any]) -> None:
    order = contract_example("`PUT /v1/orders/{order_id}` (service), upsert:")
    request = contract_example("`POST /v1/returns` (service or customer):")

    found = mismatches(openapi, order, request_schema(openapi, "PUT", "/v1/orders/{order_id}"), "order")
    found += mismatches(openapi, request, request_schema(openapi, "POST", "/v1/returns"), "return request")
    found += mismatches(openapi, request, request_schema(openapi, "POST", "/v1/returns/preview"), "preview")
    assert not found, "\n".join(found)
    got = resolve(openapi, response_schema(openapi, "GET", "/v1/orders/{order_id}", "200"))[0]
    line = resolve(openapi, got["properties"]["lines"]["items"])[0]
    assert "returnable_quantity" in line["properties"]


def test_the_statuses_are_the_contract_statuses(openapi: dict[str, Any]) -> None:
    schema = resolve(openapi, response_schema(openapi, "GET", "/v1/returns/{return_id}", "200"))[0]
    [status] = resolve(openapi, schema["properties"]["status"])

    assert sorted(status["enum"]) == sorted(contract_statuses())


def test_the_contract_reasons_are_accepted(openapi: dict[str, Any]) -> None:
    match = re.search(r"Reasons: (.*?)\.\n", contract_text(), re.S)
    assert match
    reasons = set(re.findall(r"`([a-z_]+)`", match.group(1)))
    request = resolve(openapi, request_schema(openapi, "POST", "/v1/returns"))[0]
    line = resolve(openapi, request["properties"]["lines"]["items"])[0]
    [reason] = resolve(openapi, line["properties"]["reason"])

    assert set(reason["enum"]) == reasons


def test_errors_are_documented_as_problem_json(openapi: dict[str, Any]) -> None:
    wrong = []
    for path, operations in openapi["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, spec in operations.items():
            errors = {status: answer for status, answer in spec["responses"].items() if status.startswith("4")}
            for needed in ("401", "403", "422"):
                if needed not in errors:
                    wrong.append(f"{method.upper()} {path}: no {needed} documented")
            for status, answer in errors.items():
                if set(answer.get("content", {})) != {"application/problem+json"}:
                    wrong.append(f"{method.upper()} {path} {status}: {sorted(answer.get('content', {}))}")
    assert not wrong, "\n".join(wrong)
    problem = openapi["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem["required"])
    assert "errors" in problem["properties"]


async def test_errors_are_served_as_problem_json() -> None:
    app = create_app(Settings(), temporal=cast(Client, object()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        answers = [
            await client.get("/v1/tickets"),
            await client.get("/v1/nothing-here"),
            await client.delete("/v1/returns"),
        ]
    assert [a.status_code for a in answers] == [401, 404, 405]
    for answer in answers:
        assert answer.headers["content-type"] == "application/problem+json"
        assert {"type", "title", "status", "detail"} <= answer.json().keys()


def test_the_return_shows_attention_as_the_contract_says(openapi: dict[str, Any]) -> None:
    match = re.search(r"## Attention and actions.*?```json\n(.*?)\n```", contract_text(), re.S)
    assert match, "the contract no longer shows the attention"
    example = json.loads("{" + match.group(1) + "}")
    for method, path, status in (("POST", "/v1/returns", "201"), ("GET", "/v1/returns/{return_id}", "200")):
        assert not mismatches(openapi, example, response_schema(openapi, method, path, status), "Return")
