"""The languages returnflow speaks to customers in: an order may name one (``Order.language``)."""

from typing import Literal

Language = Literal["en", "zh-Hans"]
LANGUAGES: tuple[Language, ...] = ("en", "zh-Hans")
DEFAULT_LANGUAGE: Language = "en"


def known_language(value: str | None) -> Language | None:
    """``value`` when it is a language we speak, else None (a stored value is checked, not trusted)."""
    return next((language for language in LANGUAGES if language == value), None)
