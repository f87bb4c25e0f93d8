"""The satisfaction survey over HTTP: an ended return's customer answers once; a low score reaches customer service."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from store.db import Database
from tests.api_client import Callers, customer_token, default_policy, put_order, wait_for_status
from tests.factories import return_body
from tests.test_authorization import bearer_client
from tests.test_console_return import text
from tests.test_console_sessions import browser_for, log_in, new_operator
from tests.test_track_page import browser as track_browser
from tests.test_track_page import form_token, open_link


async def ended_return(api: Callers) -> dict:
    """A return of a new customer's, canceled before it shipped: ended, so its survey is open."""
    created = await api.service.post("/v1/returns", json=return_body(order_id=await put_order(api)))
    assert created.status_code == 201, created.text
    await wait_for_status(api, created.json()["id"], "awaiting_shipment")
    assert (await api.service.post(f"/v1/returns/{created.json()['id']}/cancel", json={})).status_code == 200
    return await wait_for_status(api, created.json()["id"], "canceled")


async def as_customer(api: Callers, customer_id: str) -> httpx.AsyncClient:
    return bearer_client(api, await customer_token(api, customer_id))


async def test_the_customer_answers_an_ended_return_once(api: Callers) -> None:
    await default_policy(api)
    ret = await ended_return(api)
    async with await as_customer(api, ret["customer_id"]) as customer:
        answered = await customer.post(f"/v1/returns/{ret['id']}/survey", json={"score": 5, "comment": "smooth"})
        assert answered.status_code == 201, answered.text
        assert answered.json() | {"answered_at": None} == {
            "return_id": ret["id"],
            "score": 5,
            "comment": "smooth",
            "answered_at": None,
            "ticket_id": None,
        }
        again = await customer.post(f"/v1/returns/{ret['id']}/survey", json={"score": 1})
        assert again.status_code == 409 and "already answered" in again.json()["detail"]
        assert again.headers["content-type"] == "application/problem+json"
        for bad in ({"score": 0}, {"score": 6}, {"score": "5"}, {"comment": "no score"}, {"score": 3, "rating": 3}):
            assert (await customer.post(f"/v1/returns/{ret['id']}/survey", json=bad)).status_code == 422, bad

    tickets = (await api.operator.get("/v1/tickets", params={"return_id": ret["id"]})).json()["items"]
    assert tickets == [], "a happy customer opens no ticket"
    audit = (await api.service.get(f"/v1/returns/{ret['id']}/audit")).json()["items"]
    [entry] = [item for item in audit if item["action"] == "return.survey"]
    assert entry["actor"] == {"role": "customer", "id": ret["customer_id"]}
    assert entry["details"] == {"score": 5, "ticket_id": None}, "the comment stays on the answer"


async def test_a_return_that_has_not_ended_is_not_surveyed(api: Callers) -> None:
    await default_policy(api)
    created = (await api.service.post("/v1/returns", json=return_body(order_id=await put_order(api)))).json()
    await wait_for_status(api, created["id"], "awaiting_shipment")
    async with await as_customer(api, created["customer_id"]) as customer:
        early = await customer.post(f"/v1/returns/{created['id']}/survey", json={"score": 4})
    assert early.status_code == 409, early.text
    assert "awaiting_shipment has not ended" in early.json()["detail"]
    async with await as_customer(api, "C-someone-else") as stranger:
        assert (await stranger.post(f"/v1/returns/{created['id']}/survey", json={"score": 4})).status_code == 404


async def test_a_low_score_opens_a_negative_feedback_ticket(api: Callers) -> None:
    await default_policy(api)
    ret = await ended_return(api)
    async with await as_customer(api, ret["customer_id"]) as customer:
        answered = await customer.post(
            f"/v1/returns/{ret['id']}/survey", json={"score": 2, "comment": "the courier never came"}
        )
    assert answered.status_code == 201, answered.text
    [ticket] = (await api.operator.get("/v1/tickets", params={"return_id": ret["id"]})).json()["items"]
    assert answered.json()["ticket_id"] == ticket["id"]
    assert (ticket["kind"], ticket["status"]) == ("negative_feedback", "open")
    assert ticket["summary"] == "Survey score 2 of 5: the courier never came"
    assert ticket["details"] == {"score": 2, "comment": "the courier never came"}


async def test_answers_that_race_make_one_answer(api: Callers) -> None:
    await default_policy(api)
    ret = await ended_return(api)
    async with await as_customer(api, ret["customer_id"]) as customer:
        answers = await asyncio.gather(
            *(customer.post(f"/v1/returns/{ret['id']}/survey", json={"score": score}) for score in (1, 2, 4, 5))
        )
    assert sorted(answer.status_code for answer in answers) == [201, 409, 409, 409], [a.text for a in answers]
    [first] = [answer.json() for answer in answers if answer.status_code == 201]
    tickets = (await api.operator.get("/v1/tickets", params={"return_id": ret["id"]})).json()["items"]
    assert [t["kind"] for t in tickets] == (["negative_feedback"] if first["score"] <= 2 else [])
    audit = (await api.service.get(f"/v1/returns/{ret['id']}/audit")).json()["items"]
    assert [item["details"]["score"] for item in audit if item["action"] == "return.survey"] == [first["score"]]


async def test_the_metrics_show_how_the_surveys_scored(api: Callers) -> None:
    await default_policy(api)
    period = {"from": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(), "to": ""}

    async def scores() -> dict:
        period["to"] = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
        answer = await api.operator.get("/v1/metrics/returns", params=period)
        assert answer.status_code == 200, answer.text
        return answer.json()["survey"]

    before = await scores()
    for score in (5, 4, 4):
        ret = await ended_return(api)
        async with await as_customer(api, ret["customer_id"]) as customer:
            assert (await customer.post(f"/v1/returns/{ret['id']}/survey", json={"score": score})).status_code == 201
    after = await scores()

    assert after["answers"] - before["answers"] == 3
    assert {score: after["scores"][score] - before["scores"][score] for score in "12345"} == {
        "1": 0,
        "2": 0,
        "3": 0,
        "4": 2,
        "5": 1,
    }
    if before["answers"] == 0:
        assert after["average"] == 4.33
    long_ago = await api.operator.get(
        "/v1/metrics/returns", params={"from": "2001-01-01T00:00:00Z", "to": "2001-02-01T00:00:00Z"}
    )
    assert long_ago.json()["survey"] == {"answers": 0, "average": None, "scores": dict.fromkeys("12345", 0)}


async def test_the_console_return_page_shows_the_answer(api: Callers, database: Database) -> None:
    await default_policy(api)
    ret = await ended_return(api)
    async with await as_customer(api, ret["customer_id"]) as customer:
        answer = {"score": 1, "comment": "never again"}
        assert (await customer.post(f"/v1/returns/{ret['id']}/survey", json=answer)).status_code == 201
    name = await new_operator(database)
    async with browser_for(api) as browser:
        assert (await log_in(browser, name)).status_code == 303
        words = text(await browser.get(f"/console/returns/{ret['id']}"))
    assert "The customer's survey" in words and "1 of 5" in words and "never again" in words
    assert "Survey answered" in words, "the audit trail"


async def test_the_customer_answers_on_the_tracking_page(api: Callers) -> None:
    await default_policy(api)
    ret = await ended_return(api)
    async with track_browser(api) as client:
        page = await open_link(client, ret["id"], await customer_token(api, ret["customer_id"]))
        assert 'id="survey"' in page.text and "How did it go?" in page.text, "the messages' #survey leads here"
        unscored = await client.post(f"/track/{ret['id']}/survey", data={"csrf_token": form_token(page)})
        assert unscored.status_code == 422 and "Not done:" in unscored.text
        answered = await client.post(
            f"/track/{ret['id']}/survey", data={"csrf_token": form_token(page), "score": "2", "comment": "slow"}
        )
        assert answered.status_code == 303 and answered.headers["location"].endswith("?done=surveyed")
        page = await client.get(answered.headers["location"])
        assert "Thank you for telling us how it went." in page.text and 'id="survey"' not in page.text
    [ticket] = (await api.operator.get("/v1/tickets", params={"return_id": ret["id"]})).json()["items"]
    assert (ticket["kind"], ticket["details"]) == ("negative_feedback", {"score": 2, "comment": "slow"})
