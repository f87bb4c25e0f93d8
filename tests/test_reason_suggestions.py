"""Reason suggestions: a comment that says another reason than the one chosen gets one, with its score; a
suggestion that would make the merchant liable sends the return to review; the model never goes online."""

import subprocess
import sys
import textwrap

from domain.reason_suggestions import clear_reason, model_reads, suggestion
from domain.returns import Reason
from tests.api_client import Callers, put_order
from tests.factories import return_body

BROKEN = "Arrived broken, the glass was shattered in the box"


def test_a_clear_reason_leads_the_others_by_the_margin() -> None:
    scores = {reason: 0.2 for reason in Reason}
    assert clear_reason({**scores, Reason.DAMAGED: 0.8}) is not None
    assert clear_reason({**scores, Reason.DAMAGED: 0.8, Reason.DEFECTIVE: 0.78}) is None, "two reasons alike"
    assert clear_reason({**scores, Reason.DAMAGED: 0.3}) is None, "nothing stands out"
    assert clear_reason({**scores, Reason.OTHER: 0.9}) is None, "other is never suggested"
    assert suggestion({**scores, Reason.DAMAGED: 0.8}, Reason.DAMAGED) is None, "the chosen reason agrees"


def test_only_comments_in_a_covered_script_are_read() -> None:
    assert model_reads("It arrived broken")
    assert model_reads("Le colis est arrivé cassé")  # Latin script: read (suggestions are measured in English)
    assert not model_reads("尺码太小了")
    assert not model_reads("Товар пришёл сломанным")
    assert not model_reads("ok")


def test_the_model_loads_and_answers_with_the_network_cut_off() -> None:
    """In a fresh process (nothing cached) where every socket call fails: the model still loads and suggests."""
    program = textwrap.dedent(
        f"""
        import socket

        def refuse(*args, **kwargs):
            raise AssertionError("the reason model tried the network")

        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse

        from assist.reasons import reason_scorer
        from domain.returns import Reason

        found = reason_scorer().suggest({BROKEN!r}, Reason.CHANGED_MIND)
        assert found is not None and found.reason == Reason.DAMAGED, found
        print("offline", found.reason.value)
        """
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "offline damaged" in done.stdout


async def test_a_comment_that_contradicts_its_reason_shows_a_suggestion_and_waits_for_review(api: Callers) -> None:
    order_id = await put_order(api)
    lines = [{"line_id": "L1", "quantity": 1, "reason": "changed_mind", "comment": BROKEN}]
    preview = await api.service.post("/v1/returns/preview", json=return_body(order_id=order_id, lines=lines))

    assert preview.status_code == 200, preview.text
    line = preview.json()["lines"][0]
    assert line["suggested_reason"]["reason"] == "damaged" and 0.5 <= line["suggested_reason"]["score"] <= 1
    # changed_mind is the customer's; damaged would be the merchant's: a reviewer decides, nothing is switched.
    assert preview.json()["outcome"] == "needs_review"
    assert line["liability"] == "customer"
    assert any("comment reads as damaged" in rule and "merchant liable" in rule for rule in preview.json()["rules"])

    created = await api.service.post("/v1/returns", json=return_body(order_id=order_id, lines=lines))
    assert created.status_code == 201, created.text
    assert created.json()["lines"][0]["suggested_reason"]["reason"] == "damaged"
    assert created.json()["lines"][0]["reason"] == "changed_mind"
    assert created.json()["status"] == "under_review"


async def test_agreeing_or_unreadable_comments_get_no_suggestion(api: Callers) -> None:
    order_id = await put_order(api)
    for reason, comment in (("damaged", BROKEN), ("changed_mind", "包裹到的时候已经坏了"), ("defective", "")):
        lines = [{"line_id": "L1", "quantity": 1, "reason": reason, "comment": comment}]
        preview = await api.service.post("/v1/returns/preview", json=return_body(order_id=order_id, lines=lines))
        assert preview.status_code == 200, preview.text
        assert preview.json()["lines"][0]["suggested_reason"] is None, comment


async def test_a_suggestion_that_keeps_the_customer_liable_only_shows(api: Callers) -> None:
    order_id = await put_order(api)
    lines = [{"line_id": "L1", "quantity": 1, "reason": "changed_mind", "comment": "Too small, I need a bigger size"}]
    preview = await api.service.post("/v1/returns/preview", json=return_body(order_id=order_id, lines=lines))
    assert preview.json()["lines"][0]["suggested_reason"]["reason"] == "size_fit"
    assert preview.json()["outcome"] == "auto_approved"
