"""Policy as data over HTTP: versions, validation, simulation, overrides and risk."""

from datetime import timedelta
from typing import Any

import pytest

from domain.policy import DEFAULT_POLICY
from tests.api_client import Callers, put_order, wait_for_status
from tests.factories import NOW, order_body, return_body

POLICY = DEFAULT_POLICY.model_dump(mode="json")


async def current_version(api: Callers) -> int:
    return (await api.service.get("/v1/policy")).json()["version"]


async def test_a_new_policy_version_applies_to_new_returns_only(api: Callers) -> None:
    order_id = await put_order(api, lines=[{**order_body()["lines"][0], "quantity": 2}])
    before = (await api.service.post("/v1/returns", json=return_body(order_id=order_id))).json()
    version = await current_version(api)

    published = await api.service.put("/v1/policy", json={**POLICY, "auto_approve_max_amount": "5.00"})

    assert published.status_code == 200 and published.json()["version"] == version + 1
    after = (await api.service.post("/v1/returns", json=return_body(order_id=order_id))).json()
    assert after["policy_version"] == version + 1 and after["status"] == "under_review"
    assert any("auto-approval limit" in rule for rule in after["decision"]["rules"])
    running = await wait_for_status(api, before["id"], "awaiting_shipment")
    assert running["policy_version"] == before["policy_version"]

    reviewed = await api.operator.post(
        f"/v1/returns/{after['id']}/review", json={"decision": "reject", "note": "too worn"}
    )
    assert reviewed.status_code == 200 and reviewed.json()["status"] == "rejected"
    again = await api.operator.post(f"/v1/returns/{after['id']}/review", json={"decision": "approve"})
    assert again.status_code == 409
    await api.service.put("/v1/policy", json=POLICY)


async def test_an_invalid_policy_is_refused_with_the_field_named(api: Callers) -> None:
    version = await current_version(api)
    changes: list[tuple[dict[str, Any], str]] = [
        ({"window_days": -1}, "window_days"),
        ({"window_days": 5, "no_reason_window_days": 7}, "no_reason_window_days"),
        ({"return_shipping_fee": 5.99}, "return_shipping_fee"),
        ({"refund_trigger": "whenever"}, "refund_trigger"),
        ({"categories": {"fresh": {"window_hours": 24, "window_days": 1}}}, "categories.fresh.window_hours"),
        ({"surprise": True}, "surprise"),
    ]
    for change, field in changes:
        response = await api.service.put("/v1/policy", json={**POLICY, **change})
        assert response.status_code == 422, response.text
        assert field in [e["field"] for e in response.json()["errors"]], response.json()
    assert await current_version(api) == version
    assert (await api.operator.put("/v1/policy", json=POLICY)).status_code == 403


async def test_preview_shows_the_decision_without_creating_anything(api: Callers) -> None:
    order_id = await put_order(api)
    body = return_body(
        order_id=order_id,
        lines=[
            {"line_id": "L1", "quantity": 1, "reason": "size_fit"},
            {"line_id": "L2", "quantity": 1, "reason": "defective"},
        ],
    )

    preview = (await api.service.post("/v1/returns/preview", json=body)).json()

    assert [(ln["line_id"], ln["eligible"], ln["code"]) for ln in preview["lines"]] == [
        ("L1", True, None),
        ("L2", False, "final_sale"),
    ]
    assert preview["outcome"] == "rejected"
    listed = (await api.service.get("/v1/returns", params={"order_id": order_id})).json()
    assert listed["items"] == []


async def test_staff_override_approves_a_refused_return_and_is_audited(api: Callers) -> None:
    order_id = await put_order(api, delivered_at=(NOW - timedelta(days=60)).isoformat())
    late = return_body(order_id=order_id)
    assert (await api.service.post("/v1/returns", json=late)).json()["errors"][0]["code"] == "window_expired"

    created = await api.operator.post(
        "/v1/returns", json={**late, "override": True, "override_reason": "loyal customer, courier delay"}
    )

    assert created.status_code == 201, created.text
    ret = created.json()
    assert ret["decision"]["outcome"] == "approved"
    assert any("overridden by staff" in rule for rule in ret["decision"]["rules"])
    no_reason = await api.operator.post("/v1/returns", json={**late, "override": True})
    assert no_reason.status_code == 422


async def test_simulation_reports_what_a_stricter_policy_would_change(api: Callers) -> None:
    order_id = await put_order(api, lines=[{**order_body()["lines"][0], "quantity": 3}])
    ids = [(await api.service.post("/v1/returns", json=return_body(order_id=order_id))).json()["id"] for _ in range(2)]

    report = await api.operator.post(
        "/v1/policy/simulate",
        json={
            "policy": {**POLICY, "auto_approve_max_amount": "10.00", "return_shipping_fee": "1.00"},
            "from": (NOW - timedelta(minutes=5)).isoformat(),
            "sample_size": 50,
        },
    )

    assert report.status_code == 200, report.text
    body = report.json()
    assert body["transitions"].get("auto_approved→needs_review", 0) >= 2
    assert {ids[0], ids[1]} <= {changed["return_id"] for changed in body["sample"]}
    assert set(body["totals"]["USD"]) == {"refunds_before", "refunds_after", "fees_before", "fees_after"}
    assert await current_version(api) >= 1


@pytest.mark.parametrize(
    "lines",
    [
        [{"line_id": "L1", "quantity": 1, "reason": "defective"}],
        [{"line_id": "L1", "quantity": 2, "reason": "changed_mind"}],
        [{"line_id": "L2", "quantity": 1, "reason": "damaged"}],
        [{"line_id": "L1", "quantity": 1, "reason": "not_received"}],
        [{"line_id": "L1", "quantity": 3, "reason": "defective"}],
    ],
)
async def test_preview_and_create_agree(api: Callers, lines: list) -> None:
    order_id = await put_order(api)
    body = return_body(order_id=order_id, lines=lines)

    preview = (await api.service.post("/v1/returns/preview", json=body)).json()
    created = await api.service.post("/v1/returns", json=body)

    assert (created.status_code == 201) == preview["eligible"], (preview, created.text)
    if created.status_code == 201:
        assert created.json()["decision"]["outcome"] == preview["outcome"]
        assert created.json()["refund"]["amount"] == preview["refund_estimate"]
    else:
        codes = {line["code"] for line in preview["lines"] if not line["eligible"]}
        assert codes == {error["code"] for error in created.json()["errors"]}


async def test_what_get_answers_can_be_put_back_and_if_match_guards_against_lost_updates(api: Callers) -> None:
    read = await api.service.get("/v1/policy")
    version = read.json()["version"]
    assert read.headers["etag"] == f'"{version}"'

    as_read = await api.service.put("/v1/policy", json=read.json(), headers={"If-Match": read.headers["etag"]})
    assert as_read.status_code == 200, as_read.text
    assert as_read.json() == {"version": version + 1, "policy": read.json()["policy"]}
    assert as_read.headers["etag"] == f'"{version + 1}"'

    stricter = {**read.json(), "policy": {**read.json()["policy"], "window_days": 14}}
    stale = await api.service.put("/v1/policy", json=stricter, headers={"If-Match": read.headers["etag"]})
    assert stale.status_code == 412, stale.text
    assert stale.headers["content-type"] == "application/problem+json"
    assert stale.headers["etag"] == f'"{version + 1}"' and f"version {version + 1}" in stale.json()["detail"]
    after = await api.service.get("/v1/policy")
    assert after.json()["version"] == version + 1 and after.json()["policy"]["window_days"] == POLICY["window_days"]

    bare = await api.service.put("/v1/policy", json=stricter["policy"], headers={"If-Match": f'"{version + 1}"'})
    assert bare.status_code == 200 and bare.json()["policy"]["window_days"] == 14
    for if_match in ("*", f'"{version}", "{version + 3}"'):  # publish version + 3, then + 4
        listed = await api.service.put("/v1/policy", json=POLICY, headers={"If-Match": if_match})
        assert listed.status_code == 200, (if_match, listed.text)
    weak = await api.service.put("/v1/policy", json=POLICY, headers={"If-Match": f'W/"{version + 4}"'})
    assert weak.status_code == 412, "If-Match compares strongly"
    assert (await api.service.put("/v1/policy", json=POLICY)).status_code == 200, "If-Match is optional"


async def test_an_invalid_envelope_names_the_field_inside_it(api: Callers) -> None:
    version = await current_version(api)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"version": version, "policy": {**POLICY, "window_days": -1}}, "policy.window_days"),
        ({"version": version, "policy": POLICY, "etag": "x"}, "etag"),
        ({"policy": POLICY}, "version"),
    ]
    for body, field in cases:
        response = await api.service.put("/v1/policy", json=body)
        assert response.status_code == 422, response.text
        assert field in [e["field"] for e in response.json()["errors"]], response.json()
    assert await current_version(api) == version


async def test_the_openapi_says_put_takes_a_document_or_an_envelope(api: Callers) -> None:
    openapi = (await api.anonymous.get("/openapi.json")).json()
    put = openapi["paths"]["/v1/policy"]["put"]
    body = put["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    one_of = [ref["$ref"].rsplit("/", 1)[1] for ref in openapi["components"]["schemas"][body]["oneOf"]]

    assert one_of == ["Policy", "PolicyEnvelope"]
    envelope = openapi["components"]["schemas"]["PolicyEnvelope"]
    assert set(envelope["required"]) == {"version", "policy"} and envelope["additionalProperties"] is False
    assert "If-Match" in [p["name"] for p in put["parameters"] if p["in"] == "header"]
    assert "412" in put["responses"]
    assert "ETag" not in str(openapi["paths"]["/v1/policy"]["get"].get("parameters", []))


async def test_an_open_dispute_counts_in_the_customers_risk(api: Callers) -> None:
    order_id = await put_order(api, lines=[{**order_body()["lines"][0], "quantity": 3}])
    ended = (await api.service.post("/v1/returns", json=return_body(order_id=order_id))).json()
    await wait_for_status(api, ended["id"], "awaiting_shipment")
    assert (await api.service.post(f"/v1/returns/{ended['id']}/cancel", json={})).status_code == 200

    async def risk() -> tuple[str, list[str]]:
        preview = (await api.service.post("/v1/returns/preview", json=return_body(order_id=order_id))).json()
        return preview["risk"], preview["risk_reasons"]

    assert await risk() == ("low", [])
    ticket = await api.service.post(f"/v1/returns/{ended['id']}/dispute", json={"message": "I was charged a fee"})
    assert ticket.status_code == 201, ticket.text

    assert await risk() == ("medium", ["1 open disputes"])
    created = (await api.service.post("/v1/returns", json=return_body(order_id=order_id))).json()
    assert created["decision"]["risk"] == "medium" and "1 open disputes" in created["decision"]["risk_reasons"]
    resolved = await api.operator.post(
        f"/v1/tickets/{ticket.json()['id']}/resolve", json={"resolution": "the fee was right"}
    )
    assert resolved.status_code == 200, resolved.text
    assert await risk() == ("low", []), "a resolved dispute no longer counts"
