"""The customer's tracking page over HTTP: the link with a token, the progress, the acts, and who sees nothing."""

import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import httpx

from domain import tracking_links
from returnflow.session_secret import session_secret
from returnflow.settings import Settings
from store.db import Database
from tests.api_client import Callers, customer_token, wait_for_status
from tests.conftest import Run
from tests.return_journeys import new_return
from tests.test_customer_notifications import sent_to

FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
LINK = re.compile(r"https?://\S+/track/\S+")


@asynccontextmanager
async def browser(api: Callers, language: str = "en") -> AsyncIterator[httpx.AsyncClient]:
    """A customer's browser: no credentials but the cookies the page sets."""
    headers = {"Accept-Language": language}
    async with httpx.AsyncClient(base_url=str(api.service.base_url), headers=headers, timeout=30) as client:
        yield client


async def open_link(client: httpx.AsyncClient, return_id: str, token: str) -> httpx.Response:
    """Follow the link a notification gives: the token goes into the page's cookie, the address loses it."""
    followed = await client.get(f"/track/{return_id}", params={"token": token})
    assert followed.status_code == 303 and followed.headers["location"] == f"/track/{return_id}", followed.text
    cookie = followed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "path=/track" in cookie and "samesite=lax" in cookie
    return await client.get(f"/track/{return_id}")


def form_token(page: httpx.Response) -> str:
    found = FORM_TOKEN.search(page.text)
    assert found, page.text
    return found.group(1)


async def test_the_customer_follows_the_return_and_cancels_it_from_the_page(api: Callers) -> None:
    created = await new_return(api)
    await wait_for_status(api, created["id"], "awaiting_shipment")
    async with browser(api) as client:
        page = await open_link(client, created["id"], await customer_token(api, created["customer_id"]))
        assert page.status_code == 200
        assert "default-src 'self'" in page.headers["content-security-policy"] and "<script" not in page.text
        assert re.search(r'node-done".*Requested.*node-done".*Approved.*node-current".*Picked up', page.text, re.S)
        assert "Pack the items, stick the label on the parcel and send it." in page.text
        assert "Cancel the return" in page.text and "Ask us to hurry" in page.text
        assert "Send to customer service" not in page.text  # only once the return has ended

        forged = await client.post(f"/track/{created['id']}/cancel", data={"csrf_token": "not the page's"})
        assert forged.status_code == 403 and "This form was refused" in forged.text
        assert (await api.service.get(f"/v1/returns/{created['id']}")).json()["status"] == "awaiting_shipment"

        urged = await client.post(f"/track/{created['id']}/urge", data={"csrf_token": form_token(page)})
        assert urged.status_code == 303 and urged.headers["location"].endswith("?done=urged")
        canceled = await client.post(f"/track/{created['id']}/cancel", data={"csrf_token": form_token(page)})
        assert canceled.status_code == 303, canceled.text
        page = await client.get(canceled.headers["location"])
        assert "Your return is canceled." in page.text and "This return is canceled" in page.text
        assert "Cancel the return" not in page.text and "Ask us to hurry" not in page.text

        empty = await client.post(f"/track/{created['id']}/dispute", data={"csrf_token": form_token(page)})
        assert empty.status_code == 422 and "Not done:" in empty.text
        disputed = await client.post(
            f"/track/{created['id']}/dispute", data={"csrf_token": form_token(page), "message": "I sent it back"}
        )
        assert disputed.status_code == 303 and disputed.headers["location"].endswith("?done=disputed")

    audit = (await api.service.get(f"/v1/returns/{created['id']}/audit")).json()["items"]
    acts = {(item["action"], item["actor"]["role"]) for item in audit}
    assert {("return.urge", "customer"), ("return.cancel", "customer"), ("return.dispute", "customer")} <= acts
    disputes = (await api.operator.get("/v1/tickets", params={"kind": "dispute", "limit": 100})).json()["items"]
    assert any(ticket["return_id"] == created["id"] for ticket in disputes)


async def test_another_customers_link_or_none_shows_nothing_of_the_return(api: Callers) -> None:
    created = await new_return(api)
    await wait_for_status(api, created["id"], "awaiting_shipment")
    async with browser(api) as client:
        owners_page = await open_link(client, created["id"], await customer_token(api, created["customer_id"]))
        # Someone else's link opened in the same browser replaces the token: the page and its forms refuse.
        page = await open_link(client, created["id"], await customer_token(api, "someone-else"))
        assert page.status_code == 404 and "This link is not valid any more" in page.text
        assert created["id"] not in page.text and created["order_id"] not in page.text
        acted = await client.post(f"/track/{created['id']}/cancel", data={"csrf_token": form_token(owners_page)})
        assert acted.status_code == 404 and created["id"] not in acted.text
    assert (await api.service.get(f"/v1/returns/{created['id']}")).json()["status"] == "awaiting_shipment"
    async with browser(api) as client:
        assert (await client.get(f"/track/{created['id']}")).status_code == 401
        forged = await client.get(f"/track/{created['id']}", params={"token": "rfc_forged.token"})
        assert forged.status_code == 401 and "This link is not valid any more" in forged.text
        # A service's API key opens no page either.
        service_key = {"Authorization": api.service.headers["Authorization"]}
        assert (await client.get(f"/track/{created['id']}", headers=service_key)).status_code == 401


async def test_the_page_speaks_the_browsers_language(api: Callers) -> None:
    created = await new_return(api)
    await wait_for_status(api, created["id"], "awaiting_shipment")
    async with browser(api, "zh-CN,zh;q=0.9") as client:
        page = await open_link(client, created["id"], await customer_token(api, created["customer_id"]))
    assert page.status_code == 200 and '<html lang="zh-Hans">' in page.text
    assert "您的退货" in page.text and "取消退货" in page.text


def message_link(notice: dict) -> str:
    """The tracking page's address a message carries, as the customer's mail client would open it: path and query."""
    found = LINK.search(notice["body"])
    assert found, notice["body"]
    address = urlsplit(found.group(0))
    return f"{address.path}?{address.query}"


async def test_the_link_in_a_message_opens_the_page_without_a_login_and_a_tampered_or_expired_one_nothing(
    api: Callers, database: Database, housekeeper: Run
) -> None:
    created = await new_return(api)
    await wait_for_status(api, created["id"], "awaiting_shipment")
    [approved, *_] = await sent_to(api, database, housekeeper, created["id"])
    link = message_link(approved)
    assert link.startswith(f"/track/{created['id']}?token=rft_")
    assert created["customer_id"] not in link and "rfc_" not in link, "the customer is not named in the address"

    async with browser(api) as client:
        followed = await client.get(link)
        assert followed.status_code == 303 and followed.headers["location"] == f"/track/{created['id']}"
        page = await client.get(f"/track/{created['id']}")
        assert page.status_code == 200 and "Ask us to hurry" in page.text
        urged = await client.post(f"/track/{created['id']}/urge", data={"csrf_token": form_token(page)})
        assert urged.status_code == 303 and urged.headers["location"].endswith("?done=urged")
    audit = (await api.service.get(f"/v1/returns/{created['id']}/audit")).json()["items"]
    [urge] = [item for item in audit if item["action"] == "return.urge"]
    assert urge["actor"] == {"role": "customer", "id": created["customer_id"]}

    other = await new_return(api)
    secret = session_secret(Settings())  # the app's: the same process, the same settings
    expired = tracking_links.mint(secret, created["id"], int(time.time()) - 60)
    tampered = link.replace("?token=rft_", "?token=rft_9")
    for address, words in (
        (f"/track/{created['id']}?token={expired}", "This link has expired"),
        (tampered, "This link is not valid any more"),
        (link.replace(created["id"], other["id"], 1), "This link is not valid any more"),  # another return's page
    ):
        async with browser(api) as client:
            refused = await client.get(address)
            assert refused.status_code == 401 and words in refused.text, address
            assert "set-cookie" not in refused.headers
            assert other["id"] not in refused.text and created["order_id"] not in refused.text
