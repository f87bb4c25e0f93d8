"""The console's policy page over HTTP: read it, edit as a form or as YAML, simulate, publish over its base version."""

import html
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from console.policy_drafts import FORM_FIELDS
from console.templating import environment
from domain.policy import DEFAULT_POLICY, CategoryRule, Policy
from domain.risk import RiskRules
from store.audit import entries as audit_entries
from store.db import Database
from tests.api_client import Callers, default_policy, put_order
from tests.console_login import signed_in
from tests.factories import return_body
from tests.test_console_sessions import form_token


@pytest.fixture
async def console(api: Callers, database: Database) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """An operator signed in to the console; the default policy in force before and after."""
    await default_policy(api)
    async with signed_in(api, database) as session:
        yield session
    await default_policy(api)


async def version_in_force(api: Callers) -> tuple[int, dict[str, Any]]:
    body = (await api.service.get("/v1/policy")).json()
    return body["version"], body["policy"]


def hidden(page: httpx.Response, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page.text)
    assert match, f"no hidden {name} on the page"
    return html.unescape(match.group(1))


def settings_form(policy: Policy, **changes: Any) -> dict[str, Any]:
    """The settings form as the page fills it for ``policy``, with ``changes`` typed over it."""
    document = policy.model_dump(mode="json")
    form: dict[str, Any] = {}
    for setting in FORM_FIELDS:
        value = changes.get(setting.name, document[setting.name])
        if setting.kind == "flag":
            if value:
                form[setting.name] = "yes"
        else:
            form[setting.name] = value if isinstance(value, list) else str(value)
    return form


async def send_draft(
    browser: httpx.AsyncClient, page: httpx.Response, intent: str, editor: str = "form", **fields: Any
) -> httpx.Response:
    """Submit the page's draft form as a button of it would, with the page's hidden fields."""
    data = {
        "csrf_token": form_token(page),
        "editor": editor,
        "based_on": hidden(page, "based_on"),
        "simulated": hidden(page, "simulated"),
        "intent": intent,
        "days": "30",
        **fields,
    }
    return await browser.post("/console/policy", data=data)


def test_every_setting_of_the_policy_has_a_label() -> None:
    labels = environment("en").get_template("policy_labels.html").module.setting_labels  # type: ignore[attr-defined]
    names = {*Policy.model_fields, *RiskRules.model_fields, *CategoryRule.model_fields}
    assert names <= set(labels), sorted(names - set(labels))


async def test_the_page_shows_the_version_in_force_readably(
    api: Callers, console: tuple[httpx.AsyncClient, str]
) -> None:
    browser, _ = console
    version, document = await version_in_force(api)

    page = await browser.get("/console/policy")

    assert page.status_code == 200
    assert f"Version {version} is in force." in page.text
    assert "Published " in page.text  # when, and by whom (the fixture's publish: the service key's id)
    for name in (*document, *document["risk"]):
        assert f"<code>{name}</code>" in page.text, name
    assert "Return window (days)" in page.text and "electronics" in page.text
    as_yaml = await browser.get("/console/policy?editor=yaml")
    textarea = re.search(r"<textarea[^>]*>(.*?)</textarea>", as_yaml.text, re.S)
    assert textarea and "window_days: 30" in html.unescape(textarea.group(1))


async def test_the_page_reads_in_chinese_for_an_operator_who_picked_it(api: Callers, database: Database) -> None:
    version, _ = await version_in_force(api)
    async with signed_in(api, database, "zh-Hans") as (browser, _):
        page = await browser.get("/console/policy")
        tickets = await browser.get("/console/tickets")
    assert f"当前生效的是第 {version} 版。" in page.text and "退货期限（天）" in page.text
    assert "所有类型" in tickets.text


async def test_the_form_shows_each_error_at_its_field_and_keeps_what_was_typed(
    api: Callers, console: tuple[httpx.AsyncClient, str]
) -> None:
    browser, _ = console
    version, _ = await version_in_force(api)
    page = await browser.get("/console/policy")

    typed = settings_form(DEFAULT_POLICY, window_days="5", restocking_fee_percent="120", review_sla_hours="2")
    refused = await send_draft(browser, page, "simulate", **typed)

    assert refused.status_code == 422
    assert "The draft is not valid" in refused.text
    assert re.search(r'id="error-no_reason_window_days">the no-reason window \(7 days\)', refused.text)
    assert 'id="error-restocking_fee_percent">Input should be less than or equal to 100' in refused.text
    assert 'id="error-window_days"' not in refused.text
    assert 'name="restocking_fee_percent" value="120"' in refused.text  # as typed
    assert 'name="review_sla_hours" value="2"' in refused.text
    assert 'aria-invalid="true" aria-describedby="error-restocking_fee_percent"' in refused.text
    assert "What would have changed" not in refused.text
    assert (await version_in_force(api))[0] == version


async def test_the_yaml_editor_names_the_line_of_each_error(console: tuple[httpx.AsyncClient, str]) -> None:
    browser, _ = console
    page = await browser.get("/console/policy?editor=yaml")

    broken = await send_draft(browser, page, "check", editor="yaml", document="window_days: 30\nrisk: [low\n")
    assert broken.status_code == 422
    assert "Line 3, column 1" in broken.text and "expected &#39;,&#39; or &#39;]&#39;" in broken.text
    assert "window_days: 30\nrisk: [low" in html.unescape(broken.text)  # the text is kept as typed

    text = "\n".join(
        [
            "window_days: 30",
            "return_shipping_fee: 5.99",
            "categories:",
            "  fresh:",
            "    window_hours: 24",
            "    window_days: 1",
            "surprise: true",
        ]
    )
    invalid = await send_draft(browser, page, "check", editor="yaml", document=text)
    assert invalid.status_code == 422
    found = html.unescape(invalid.text)
    assert "Line 2, column 1 · <code>return_shipping_fee</code>: money must be a decimal string" in found
    assert "Line 5, column 5 · <code>categories.fresh.window_hours</code>: give window_days or window_hours" in found
    assert "Line 7, column 1 · <code>surprise</code>: not a setting of the policy" in found


async def test_a_draft_is_simulated_on_recorded_returns_before_it_is_published(
    api: Callers, database: Database, console: tuple[httpx.AsyncClient, str]
) -> None:
    browser, name = console
    order_id = await put_order(api)
    recorded = (await api.service.post("/v1/returns", json=return_body(order_id=order_id))).json()
    assert recorded["decision"]["outcome"] == "auto_approved"
    version, _ = await version_in_force(api)
    page = await browser.get("/console/policy")

    typed = settings_form(DEFAULT_POLICY, auto_approve_max_amount="5.00")
    checked = await send_draft(browser, page, "check", **typed)
    assert checked.status_code == 200 and "What would have changed" not in checked.text
    assert "<code>auto_approve_max_amount</code></th><td>200.00</td><td>5.00</td>" in checked.text
    # Publishing what was never simulated shows the simulation first.
    unseen = await send_draft(browser, checked, "publish", **typed)
    assert unseen.status_code == 200 and "The draft changed since it was simulated" in unseen.text
    assert (await version_in_force(api))[0] == version

    simulated = await send_draft(browser, page, "simulate", **typed)
    assert simulated.status_code == 200
    assert "What would have changed over the last 30 days" in simulated.text
    transition = r'<td>Approved by the policy</td><td>Waits for a reviewer</td><td class="num">\d+</td>'
    assert re.search(transition, simulated.text)
    assert f'<a href="/console/returns/{recorded["id"]}">' in simulated.text
    assert f"Publish as version {version + 1}" in simulated.text
    assert (await version_in_force(api))[0] == version  # nothing published yet

    published = await send_draft(browser, simulated, "publish", **typed)

    assert published.status_code == 303
    assert published.headers["location"] == f"/console/policy?editor=form&published={version + 1}"
    now, document = await version_in_force(api)
    assert now == version + 1 and document["auto_approve_max_amount"] == "5.00"
    shown = await browser.get(published.headers["location"])
    assert f"Version {version + 1} is published" in shown.text and f"by {name}." in shown.text
    async with database.sessions() as session:
        entries, _ = await audit_entries(session, f"policy:{now}", 10, None)
    assert [(e.action, e.actor.role, e.actor.id) for e in entries] == [("policy.publish", "operator", name)]
    assert entries[0].details == {"previous_version": version}


async def test_the_yaml_editor_publishes_the_whole_document(
    api: Callers, console: tuple[httpx.AsyncClient, str]
) -> None:
    browser, _ = console
    version, _ = await version_in_force(api)
    page = await browser.get("/console/policy?editor=yaml")
    document = html.unescape(re.search(r"<textarea[^>]*>(.*?)</textarea>", page.text, re.S).group(1))  # type: ignore[union-attr]
    edited = document.replace("electronics:\n    window_days: 15", "electronics:\n    window_days: 20")
    assert edited != document

    simulated = await send_draft(browser, page, "simulate", editor="yaml", document=edited)
    assert "<code>categories.electronics.window_days</code></th><td>15</td><td>20</td>" in simulated.text
    published = await send_draft(browser, simulated, "publish", editor="yaml", document=edited)

    assert published.status_code == 303
    now, policy = await version_in_force(api)
    assert now == version + 1 and policy["categories"]["electronics"]["window_days"] == 20


async def test_a_version_published_meanwhile_refuses_the_draft_and_nothing_is_overwritten(
    api: Callers, console: tuple[httpx.AsyncClient, str]
) -> None:
    browser, _ = console
    version, document = await version_in_force(api)
    page = await browser.get("/console/policy")
    typed = settings_form(DEFAULT_POLICY, review_sla_hours="24")
    simulated = await send_draft(browser, page, "simulate", **typed)
    meanwhile = {**document, "window_days": 45, "categories": {}}
    assert (await api.service.put("/v1/policy", json=meanwhile)).status_code == 200

    refused = await send_draft(browser, simulated, "publish", **typed)

    assert refused.status_code == 409
    assert f"Not published: the policy is now at version {version + 1}." in refused.text
    assert "<code>window_days</code></th><td>30</td><td>45</td>" in refused.text  # what changed meanwhile
    now, policy = await version_in_force(api)
    assert now == version + 1 and policy["window_days"] == 45 and policy["review_sla_hours"] == 48
    # The draft is kept and based anew: the operator's change onto what was published meanwhile.
    assert 'name="review_sla_hours" value="24"' in refused.text
    assert 'name="window_days" value="45"' in refused.text
    assert hidden(refused, "based_on") == str(version + 1)

    again = await send_draft(
        browser, refused, "publish", **settings_form(Policy.model_validate(policy), review_sla_hours="24")
    )

    assert again.status_code == 303
    final, merged = await version_in_force(api)
    assert final == version + 2
    assert (merged["window_days"], merged["review_sla_hours"], merged["categories"]) == (45, 24, {})


async def test_a_draft_without_the_form_token_is_refused(api: Callers, console: tuple[httpx.AsyncClient, str]) -> None:
    browser, _ = console
    version, _ = await version_in_force(api)
    page = await browser.get("/console/policy")
    data = {"editor": "form", "based_on": str(version), "intent": "publish", **settings_form(DEFAULT_POLICY)}

    forged = await browser.post("/console/policy", data={**data, "simulated": hidden(page, "simulated")})

    assert forged.status_code == 403
    assert (await version_in_force(api))[0] == version
