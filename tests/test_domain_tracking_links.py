"""The token of a customer message's link (domain/tracking_links.py): one return's page, until it expires."""

import pytest

from domain.tracking_links import LinkCheck, check, expiry, is_tracking_token, mint

SECRET, RETURN_ID, EXPIRES = b"s3cret", "ret_0123456789abcdef", 1_760_000_000


def test_a_token_opens_its_return_until_it_expires() -> None:
    token = mint(SECRET, RETURN_ID, EXPIRES)
    assert is_tracking_token(token) and RETURN_ID not in token and expiry(token) == EXPIRES
    assert check(SECRET, token, RETURN_ID, EXPIRES - 1) is LinkCheck.VALID
    assert check(SECRET, token, RETURN_ID, EXPIRES) is LinkCheck.EXPIRED


@pytest.mark.parametrize(
    ("what", "token", "return_id"),
    [
        ("another return's", mint(SECRET, "ret_other", EXPIRES), RETURN_ID),
        ("another secret's", mint(b"guessed", RETURN_ID, EXPIRES), RETURN_ID),
        ("a later expiry written in", mint(SECRET, RETURN_ID, EXPIRES).replace("rft_1760", "rft_1860"), RETURN_ID),
        ("a digit of the signature changed", mint(SECRET, RETURN_ID, EXPIRES)[:-1] + "x", RETURN_ID),
        ("a customer token", "rfc_eyJjdXN0b21lcl9pZCI6IkMxIn0.c2ln", RETURN_ID),
        ("no signature", "rft_1760000000", RETURN_ID),
        ("no expiry", "rft_.abc", RETURN_ID),
        ("far too long", "rft_1760000000." + "a" * 200, RETURN_ID),
    ],
)
def test_anything_else_opens_nothing(what: str, token: str, return_id: str) -> None:
    assert check(SECRET, token, return_id, EXPIRES - 100) is LinkCheck.INVALID, what
