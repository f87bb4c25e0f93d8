"""The edge of the API takes exactly what ``/openapi.json`` describes (issue 9).

- What a pattern of the document allows, the validation takes (amounts, times, links),
  property-tested from the patterns themselves; values outside are refused.
- Integers and booleans are not coerced (``quantity: true`` or ``"3"`` is a 422), and times
  that would overflow (year 9999, year 1) are a 422 naming the field, never a 500.
- Credentials come before the body: an anonymous caller gets 401 whatever it sends.
- A 405 lists every method of the path in ``Allow``.
"""

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from temporalio.client import Client

from api.app import create_app
from api.routes.webhooks import EndpointIn
from domain.money import AMOUNT_PATTERN, amount_pattern
from domain.orders import Payment
from domain.policy import CategoryRule
from domain.returns import RequestedLine
from domain.wire import TIMESTAMP_PATTERN, WEB_URL_PATTERN, Timestamp
from returnflow.settings import Settings
from tests.api_client import Callers, put_order
from tests.factories import NOW, order_body, return_body

PROPERTY = settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return create_app(Settings(), temporal=cast(Client, object())).openapi()


def field_schema(openapi: dict[str, Any], model: str, field: str) -> dict[str, Any]:
    schema = openapi["components"]["schemas"][model]["properties"][field]
    options = [option for option in schema.get("anyOf", [schema]) if option.get("type") != "null"]
    assert len(options) == 1, schema
    return cast(dict[str, Any], options[0])


# ---- the document says what the validation does -----------------------------------------------


AMOUNT_FIELDS = [
    # (model, field, lowest, highest) as the models declare them
    ("Payment", "amount", Decimal(0), None),
    ("Policy", "restocking_fee_percent", Decimal(0), Decimal(100)),
    ("CategoryRule", "restocking_fee_percent", Decimal(0), Decimal(100)),
    ("RiskRules", "high_return_rate", Decimal(0), Decimal(1)),
]


@pytest.mark.parametrize(("model", "field", "lowest", "highest"), AMOUNT_FIELDS)
def test_an_amount_field_is_a_decimal_string_within_its_bounds(openapi, model, field, lowest, highest):
    schema = field_schema(openapi, model, field)
    assert {key: schema[key] for key in schema if key not in ("title", "default")} == {
        "type": "string",
        "pattern": amount_pattern(lowest, highest),
    }
    pattern = re.compile(schema["pattern"])
    for inside in ["0", "0.5", "-0", "-0.00", str(highest or "999999999999.99")]:
        assert pattern.match(inside), inside
    for outside in ["-1", "-0.01", "1e2", " 1", "01", "+1", str((highest or Decimal(10**12)) + Decimal("0.01"))]:
        assert not pattern.match(outside), outside


@PROPERTY
@given(data=st.data())
def test_every_amount_the_patterns_allow_is_accepted_and_no_other(data):
    text = data.draw(st.from_regex(AMOUNT_PATTERN, fullmatch=True))
    payment = {"payment_id": "P1", "method": "card", "amount": text}
    accepted_payment = re.fullmatch(amount_pattern(Decimal(0)), text) is not None
    assert _accepts(lambda: Payment.model_validate(payment)) == accepted_payment, text
    within_percent = re.fullmatch(amount_pattern(Decimal(0), Decimal(100)), text) is not None
    assert _accepts(lambda: CategoryRule.model_validate({"restocking_fee_percent": text})) == within_percent, text


@PROPERTY
@given(text=st.text(alphabet="0123456789.-+eE_ ", max_size=16))
def test_what_the_amount_pattern_refuses_the_validation_refuses(text):
    expected = re.fullmatch(amount_pattern(Decimal(0)), text) is not None
    assert _accepts(lambda: Payment.model_validate({"payment_id": "P", "method": "card", "amount": text})) == expected


@PROPERTY
@given(text=st.from_regex(TIMESTAMP_PATTERN, fullmatch=True))
def test_every_time_the_pattern_allows_is_a_valid_time_or_refused_for_its_instant(text):
    adapter = TypeAdapter(Timestamp)
    try:
        datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
    except ValueError:
        return  # not a date (31 February): the document's format date-time refuses it too
    try:
        parsed = adapter.validate_python(text)
    except ValidationError as refused:
        # Only the few hours next to 1970-01-01T00:00Z and 9000-01-01T00:00Z that a time zone moves across.
        assert "between 1970" in str(refused), text
        instant = datetime.fromisoformat(text.replace("z", "Z").replace("t", "T")).astimezone(UTC)
        assert instant.year in (1969, 9000), text
        return
    assert 1970 <= parsed.astimezone(UTC).year <= 8999


@pytest.mark.parametrize(
    "text",
    [
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:00:00-05:00",
        "0001-01-01T00:00:00+01:00",
        "1969-12-31T23:59:59Z",
        "2026-01-01",
        "2026-01-01T00:00:00",
        "1700000000",
        "2026-01-01 00:00:00Z",
        "2026-01-01T24:00:00Z",
    ],
)
def test_times_outside_the_pattern_are_refused(text):
    assert not re.fullmatch(TIMESTAMP_PATTERN, text)
    with pytest.raises(ValidationError):
        TypeAdapter(Timestamp).validate_python(text)


@PROPERTY
@given(url=st.from_regex(WEB_URL_PATTERN, fullmatch=True).filter(lambda url: len(url) <= 2048))
def test_every_link_the_pattern_allows_is_accepted(url):
    assert EndpointIn.model_validate({"url": url, "events": ["return.approved"]}).url == url
    RequestedLine.model_validate({"line_id": "L1", "quantity": 1, "reason": "defective", "evidence": [url]})


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "https://user:pw@example.com/",
        "https://example.com/#top",
        "https:///no-host",
        "https://example.com/%zz",
        "https://exa mple.com/",
        "https://example.com:70000/",
        "https://1.2.3.4.5/",
        "mailto:someone@example.com",
    ],
)
def test_links_outside_the_pattern_are_refused(url):
    assert not re.fullmatch(WEB_URL_PATTERN, url)
    with pytest.raises(ValidationError):
        EndpointIn.model_validate({"url": url, "events": ["return.approved"]})
    with pytest.raises(ValidationError):
        RequestedLine.model_validate({"line_id": "L1", "quantity": 1, "reason": "defective", "evidence": [url]})


def test_request_strings_refuse_nul_in_the_document(openapi):
    assert field_schema(openapi, "RequestedLine", "comment")["pattern"] == "^[^\\u0000]*$"
    assert openapi["components"]["schemas"]["Policy"]["properties"]["categories"]["propertyNames"]["pattern"]
    customer = next(p for p in openapi["paths"]["/v1/returns"]["get"]["parameters"] if p["name"] == "customer_id")
    assert customer["schema"]["anyOf"][0]["pattern"] == "^[^\\u0000]*$"


def test_created_resources_declare_links_to_what_may_follow(openapi):
    created = openapi["paths"]["/v1/returns"]["post"]["responses"]["201"]["links"]
    assert created["GetReturn"] == {
        "operationId": openapi["paths"]["/v1/returns/{return_id}"]["get"]["operationId"],
        "parameters": {"path.return_id": "$response.body#/id"},
    }
    assert {"CancelReturn", "ReviewReturn", "InspectReturn"} <= created.keys()
    for status in ("200", "201"):
        assert "GetOrder" in openapi["paths"]["/v1/orders/{order_id}"]["put"]["responses"][status]["links"]


def _accepts(validate: Any) -> bool:
    try:
        validate()
    except ValidationError:
        return False
    return True


# ---- over HTTP ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "value"),
    [("quantity", True), ("quantity", "3"), ("final_sale", "yes"), ("final_sale", 1), ("unit_price", 5)],
)
async def test_numbers_and_booleans_are_not_coerced(api: Callers, where: str, value: Any) -> None:
    body = order_body()
    body["lines"][0][where] = value
    answer = await api.service.put("/v1/orders/O-coerce", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == f"lines.0.{where}"


async def test_sample_size_false_is_not_zero(api: Callers) -> None:
    answer = await api.service.post("/v1/policy/simulate", json={"policy": {}, "sample_size": False})
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "sample_size"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/orders/O-late", order_body(placed_at="9999-12-31T23:00:00-05:00"), "placed_at"),
        ("/v1/orders/O-early", order_body(delivered_at="0001-01-01T00:00:00+01:00"), "delivered_at"),
        (
            "/v1/carrier-events",
            {"tracking_number": "T1", "event": "picked_up", "occurred_at": "0001-01-01T00:30:00+01:00"},
            "occurred_at",
        ),
        (
            "/v1/returns/preview",
            return_body(
                logistics={
                    "method": "pickup",
                    "pickup_slot": {"start": "9999-12-31T20:00:00-05:00", "end": "9999-12-31T22:00:00-05:00"},
                }
            ),
            "logistics.pickup_slot.start",
        ),
    ],
)
async def test_times_that_would_overflow_are_a_422_naming_the_field(
    api: Callers, path: str, body: dict[str, Any], field: str
) -> None:
    method = api.service.put if path.startswith("/v1/orders") else api.service.post
    answer = await method(path, json=body)
    assert answer.status_code == 422, answer.text
    assert field in [error["field"] for error in answer.json()["errors"]], answer.text


async def test_an_anonymous_caller_is_told_401_before_anything_about_its_body(api: Callers) -> None:
    order_id = await put_order(api)
    bad_body = return_body(order_id=order_id, lines=[{"line_id": "L1", "quantity": True, "reason": "nope\x00"}])
    answers = {
        "invalid body": await api.anonymous.post("/v1/returns", json=bad_body),
        "no body": await api.anonymous.put("/v1/orders/O1"),
        "malformed JSON": await api.anonymous.post(
            "/v1/returns", content=b"{", headers={"Content-Type": "application/json"}
        ),
        "NUL in a query": await api.anonymous.get("/v1/returns", params={"customer_id": "a\x00"}),
        "invalid query": await api.anonymous.get("/v1/returns", params={"limit": "many"}),
        "unknown key": await api.anonymous.post(
            "/v1/returns", json=bad_body, headers={"Authorization": "Bearer rf_ser_not-a-key"}
        ),
        "carrier without a signature": await api.anonymous.post("/v1/carrier-events", json={"event": "lost"}),
    }
    for what, answer in answers.items():
        assert answer.status_code == 401, (what, answer.text)
        assert answer.headers["content-type"] == "application/problem+json", what
    # With credentials the same body is judged.
    assert (await api.service.post("/v1/returns", json=bad_body)).status_code == 422


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/v1/policy", {"GET", "PUT"}),
        ("/v1/returns", {"GET", "POST"}),
        ("/v1/webhook-endpoints", {"GET", "POST"}),
        ("/v1/returns/preview", {"POST"}),  # not a return whose id is "preview"
    ],
)
async def test_a_405_lists_every_method_of_the_path(path: str, methods: set[str]) -> None:
    app = create_app(Settings(), temporal=cast(Client, object()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        answer = await client.request("PATCH", path)
    assert answer.status_code == 405
    assert set(answer.headers["allow"].split(", ")) == methods
    assert answer.headers["content-type"] == "application/problem+json"


def test_every_error_of_a_problem_has_a_code_and_a_message():
    from api.problems import problem_response

    body = json.loads(problem_response(422, "inspect every line once", [{"line_id": "p", "code": "unknown_line"}]).body)
    assert body["errors"] == [{"line_id": "p", "code": "unknown_line", "message": "inspect every line once"}]


def test_the_time_of_now_is_a_timestamp():
    assert TypeAdapter(Timestamp).validate_python(NOW.isoformat()) == NOW


async def test_the_longest_customer_id_can_be_erased(api: Callers) -> None:
    """Found by schemathesis on PostgreSQL: ``customer:<128 characters>`` overflowed the audit trail (a 500)."""
    longest = "C" * 128
    answer = await api.service.delete(f"/v1/customers/{longest}/personal-data")
    assert answer.status_code == 200, answer.text
    assert (await api.service.delete(f"/v1/customers/{longest}C/personal-data")).status_code == 422
