"""The messages customers receive, in English and Simplified Chinese: one subject and body per notification kind.

Templates are ``string.Template`` text: ``$name`` is one of the facts of
``domain.notifications.message_facts`` (and ``$compensation``, the compensation in words, from
``COMPENSATION_WORDS``). A message is in the order's language (``Order.language``), in English
when the order names none. ``tests/test_domain_notifications.py`` checks that every kind has a
message in every language and that each fills in only facts it always has.
"""

from string import Template
from typing import NamedTuple

from domain.languages import DEFAULT_LANGUAGE, Language
from domain.notifications import NotificationKind


class MessageTemplate(NamedTuple):
    subject: str
    body: str


class Message(NamedTuple):
    language: Language
    subject: str
    body: str


K = NotificationKind
TEMPLATES: dict[Language, dict[NotificationKind, MessageTemplate]] = {
    "en": {
        K.APPROVED: MessageTemplate(
            "Your return $return_id is approved",
            "Good news: your return for order $order_id is approved. Follow it here: $tracking_url",
        ),
        K.AWAITING_SHIPMENT: MessageTemplate(
            "Send back your return $return_id",
            "Your return is booked with the carrier. How to hand the parcel over: $tracking_url",
        ),
        K.IN_TRANSIT: MessageTemplate(
            "Your return $return_id is on its way",
            "The carrier has your parcel and is bringing it to us. Follow it here: $tracking_url",
        ),
        K.RECEIVED: MessageTemplate(
            "We received your return $return_id",
            "Your parcel has arrived at our warehouse; we will check it shortly. $tracking_url",
        ),
        K.REFUND_PENDING: MessageTemplate(
            "Your refund for $return_id is on its way",
            "We are paying back $refund_amount $currency for your return of order $order_id. $tracking_url",
        ),
        K.NEEDS_ATTENTION: MessageTemplate(
            "We are looking into your return $return_id",
            "Something needs a closer look on your return; a member of our team is on it and "
            "you need not do anything. $tracking_url",
        ),
        K.COMPLETED: MessageTemplate(
            "Your return $return_id is complete",
            "Your return for order $order_id is complete. How did it go? Tell us in one click: $survey_url",
        ),
        K.REJECTED: MessageTemplate(
            "About your return $return_id",
            "We are sorry: your return for order $order_id could not be accepted. "
            "The details, and how to tell us what you think: $survey_url",
        ),
        K.CANCELED: MessageTemplate(
            "Your return $return_id is canceled",
            "Your return for order $order_id is canceled. How was it? Tell us: $survey_url",
        ),
        K.EXPIRED: MessageTemplate(
            "Your return $return_id has expired",
            "We did not receive the parcel in time, so your return for order $order_id has expired. "
            "Tell us what happened: $survey_url",
        ),
        K.COMPENSATION_ISSUED: MessageTemplate(
            "Sorry for the wait on your return $return_id",
            "We kept you waiting longer than we promised. To make up for it, here is $compensation. $tracking_url",
        ),
    },
    "zh-Hans": {
        K.APPROVED: MessageTemplate(
            "您的退货 $return_id 已获批准",
            "好消息：您订单 $order_id 的退货申请已获批准。查看进度：$tracking_url",
        ),
        K.AWAITING_SHIPMENT: MessageTemplate(
            "请寄回您的退货 $return_id",
            "您的退货已向承运商预约。包裹交寄方式请见：$tracking_url",
        ),
        K.IN_TRANSIT: MessageTemplate(
            "您的退货 $return_id 正在运送中",
            "承运商已收取您的包裹，正在送往我们的仓库。查看进度：$tracking_url",
        ),
        K.RECEIVED: MessageTemplate(
            "我们已收到您的退货 $return_id",
            "您的包裹已到达我们的仓库，我们将尽快检验。$tracking_url",
        ),
        K.REFUND_PENDING: MessageTemplate(
            "您的退货 $return_id 退款处理中",
            "我们正在为您订单 $order_id 的退货退款 $refund_amount $currency。$tracking_url",
        ),
        K.NEEDS_ATTENTION: MessageTemplate(
            "我们正在处理您的退货 $return_id",
            "您的退货需要进一步核查，我们的同事正在处理，您无需进行任何操作。$tracking_url",
        ),
        K.COMPLETED: MessageTemplate(
            "您的退货 $return_id 已完成",
            "您订单 $order_id 的退货已完成。体验如何？欢迎告诉我们：$survey_url",
        ),
        K.REJECTED: MessageTemplate(
            "关于您的退货 $return_id",
            "很抱歉，您订单 $order_id 的退货申请未能通过。详情及意见反馈：$survey_url",
        ),
        K.CANCELED: MessageTemplate(
            "您的退货 $return_id 已取消",
            "您订单 $order_id 的退货已取消。体验如何？欢迎告诉我们：$survey_url",
        ),
        K.EXPIRED: MessageTemplate(
            "您的退货 $return_id 已过期",
            "我们未能按时收到包裹，您订单 $order_id 的退货已过期。请告诉我们发生了什么：$survey_url",
        ),
        K.COMPENSATION_ISSUED: MessageTemplate(
            "抱歉让您久等了：退货 $return_id",
            "我们的处理时间超出了承诺。为表歉意，我们为您送上$compensation。$tracking_url",
        ),
    },
}
# A compensation in words, by its kind (policy ``sla_compensation``): filled in as ``$compensation``.
COMPENSATION_WORDS: dict[Language, dict[str, str]] = {
    "en": {
        "coupon": "a coupon worth $compensation_amount (code $compensation_code)",
        "points": "$compensation_amount points",
    },
    "zh-Hans": {
        "coupon": "一张价值 $compensation_amount 的优惠券（券码 $compensation_code）",
        "points": " $compensation_amount 积分",
    },
}


def render(kind: NotificationKind, language: Language | None, facts: dict[str, str]) -> Message:
    """The message of ``kind`` in ``language`` (English when None); ``KeyError`` names a missing fact."""
    chosen = language or DEFAULT_LANGUAGE
    template = TEMPLATES[chosen][kind]
    words = dict(facts)
    if "compensation_kind" in facts:
        words["compensation"] = Template(COMPENSATION_WORDS[chosen][facts["compensation_kind"]]).substitute(facts)
    return Message(chosen, Template(template.subject).substitute(words), Template(template.body).substitute(words))
