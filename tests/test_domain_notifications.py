"""What customers are told: a message for every notification kind in every language, filled from any return."""

from string import Template

import pytest

from domain.languages import LANGUAGES
from domain.notification_templates import COMPENSATION_WORDS, TEMPLATES, render
from domain.notifications import (
    STATUS_NOTIFICATIONS,
    SURVEY_INVITATIONS,
    NotificationKind,
    message_facts,
    notification_data,
    once_key,
)
from domain.returns import FINAL_STATUSES, Status
from tests.factories import view_through

SITE = "https://shop.example/"
COMPENSATION = {"kind": "coupon", "amount": "5.00", "code": "SORRY-5", "reason": "review_overdue", "at": "…"}


def data_for(kind: NotificationKind) -> dict[str, object]:
    """What the event of ``kind`` carries: the view at that status (a compensation: with its compensation)."""
    status = next((status for status, told in STATUS_NOTIFICATIONS.items() if told == kind), Status.UNDER_REVIEW)
    view = view_through(Status.REQUESTED, status).model_dump(mode="json")
    if kind == NotificationKind.COMPENSATION_ISSUED:
        view["compensations"] = [COMPENSATION]
    return notification_data(view)


def placeholders(text: str) -> set[str]:
    return {match.group("named") or match.group("braced") for match in Template.pattern.finditer(text)} - {None}


def test_every_kind_has_a_message_in_every_language() -> None:
    for language in LANGUAGES:
        assert set(TEMPLATES[language]) == set(NotificationKind), language
        assert set(COMPENSATION_WORDS[language]) == {"coupon", "points"}, language


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(NotificationKind))
def test_each_message_is_filled_from_the_facts_its_event_always_has(kind: NotificationKind, language: str) -> None:
    message = render(kind, language, message_facts(kind, data_for(kind), SITE))  # type: ignore[arg-type]
    assert "$" not in message.subject + message.body
    assert "ret_steps" in message.subject
    assert "https://shop.example/track/ret_steps" in message.body


def test_the_same_placeholders_in_both_languages() -> None:
    for kind in NotificationKind:
        english, chinese = TEMPLATES["en"][kind], TEMPLATES["zh-Hans"][kind]
        assert placeholders(english.body) == placeholders(chinese.body), kind
        assert placeholders(english.subject) == placeholders(chinese.subject), kind


def test_a_chinese_order_reads_chinese_and_no_language_reads_english() -> None:
    kind = NotificationKind.NEEDS_ATTENTION
    facts = message_facts(kind, data_for(kind), SITE)
    chinese = render(kind, "zh-Hans", facts)
    assert (chinese.language, chinese.subject) == ("zh-Hans", "我们正在处理您的退货 ret_steps")
    english = render(kind, None, facts)
    assert (english.language, english.subject) == ("en", "We are looking into your return ret_steps")


def test_ended_returns_invite_to_the_survey_and_others_do_not() -> None:
    assert {STATUS_NOTIFICATIONS[status] for status in FINAL_STATUSES} == SURVEY_INVITATIONS
    completed = render(
        NotificationKind.COMPLETED,
        "en",
        message_facts(NotificationKind.COMPLETED, data_for(NotificationKind.COMPLETED), SITE),
    )
    assert "https://shop.example/track/ret_steps#survey" in completed.body
    assert "survey_url" not in message_facts(NotificationKind.APPROVED, data_for(NotificationKind.APPROVED), SITE)


def test_a_compensation_is_said_with_its_code_or_as_points() -> None:
    kind = NotificationKind.COMPENSATION_ISSUED
    coupon = render(kind, "en", message_facts(kind, data_for(kind), SITE))
    assert "a coupon worth 5.00 (code SORRY-5)" in coupon.body
    data = data_for(kind) | {"compensation": {"kind": "points", "amount": "100", "code": None}}
    assert "积分" in render(kind, "zh-Hans", message_facts(kind, data, SITE)).body


def test_the_statuses_customers_hear_about() -> None:
    told = {status.value for status in STATUS_NOTIFICATIONS}
    assert {"in_transit", "refund_pending", "needs_attention", "approved", "completed"} <= told
    assert not {"requested", "under_review", "inspected"} & told


def test_a_status_is_told_once_per_return_a_compensation_once_per_issue() -> None:
    assert once_key("ret_1", NotificationKind.IN_TRANSIT) == once_key("ret_1", NotificationKind.IN_TRANSIT)
    first = once_key("ret_1", NotificationKind.COMPENSATION_ISSUED, "ret_1:compensation:review_overdue:1")
    second = once_key("ret_1", NotificationKind.COMPENSATION_ISSUED, "ret_1:compensation:review_overdue:2")
    assert first != second
