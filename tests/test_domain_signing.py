"""The one HMAC signature recipe (domain/signing.py) carriers sign with and returnflow's webhooks are signed with."""

import hashlib
import hmac
from datetime import timedelta

import pytest

from domain.signing import SignatureCheck, sign, verify

SECRET, BODY, SIGNED_AT = b"s3cret", b'{"id":"evt_1"}', 1_760_000_000
TOLERANCE = timedelta(minutes=5)


def test_the_header_is_t_and_the_hex_hmac_of_t_dot_body() -> None:
    digest = hmac.new(SECRET, b"1760000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, SIGNED_AT, BODY) == f"t={SIGNED_AT},v1={digest}"


def test_a_signature_verifies_round_trip() -> None:
    assert verify(SECRET, sign(SECRET, SIGNED_AT, BODY), BODY, SIGNED_AT, TOLERANCE) is SignatureCheck.VALID


@pytest.mark.parametrize(
    ("what", "secret", "body"),
    [
        ("another secret", b"guessed", BODY),
        ("a tampered body", SECRET, BODY.replace(b"evt_1", b"evt_2")),
        ("a byte more", SECRET, BODY + b" "),
        ("no body", SECRET, b""),
    ],
)
def test_anything_but_the_signed_body_with_the_secret_does_not_match(what: str, secret: bytes, body: bytes) -> None:
    header = sign(SECRET, SIGNED_AT, BODY)
    assert verify(secret, header, body, SIGNED_AT, TOLERANCE) is SignatureCheck.MISMATCH, what


@pytest.mark.parametrize(
    ("skew", "check"),
    [
        (0, SignatureCheck.VALID),
        (300, SignatureCheck.VALID),  # exactly the tolerance: still accepted
        (-300, SignatureCheck.VALID),
        (300.001, SignatureCheck.STALE),  # replayed too late
        (301, SignatureCheck.STALE),
        (-301, SignatureCheck.STALE),  # signed in the future
    ],
)
def test_a_signature_is_only_accepted_within_the_tolerance_of_the_receivers_clock(
    skew: float, check: SignatureCheck
) -> None:
    assert verify(SECRET, sign(SECRET, SIGNED_AT, BODY), BODY, SIGNED_AT + skew, TOLERANCE) is check


def test_the_time_is_checked_before_the_hmac() -> None:
    """A stale forgery is refused as stale: the receiver spends no HMAC on it."""
    assert verify(b"guessed", sign(SECRET, SIGNED_AT, BODY), BODY, SIGNED_AT + 301, TOLERANCE) is SignatureCheck.STALE


@pytest.mark.parametrize("header", ["", "hello", "v1=abc", "t=,v1=abc", "t=x,v1=" + "0" * 64, "t=1.5,v1=00"])
def test_a_header_without_an_integer_timestamp_is_refused(header: str) -> None:
    assert verify(SECRET, header, BODY, SIGNED_AT, TOLERANCE) is SignatureCheck.NO_TIMESTAMP


def test_one_matching_v1_among_several_is_enough_and_spaces_are_allowed() -> None:
    digest = sign(SECRET, SIGNED_AT, BODY).partition(",v1=")[2]
    rotated = f"t={SIGNED_AT}, v1={'0' * 64}, v1={digest}"
    assert verify(SECRET, rotated, BODY, SIGNED_AT, TOLERANCE) is SignatureCheck.VALID
    assert verify(SECRET, f"t={SIGNED_AT}", BODY, SIGNED_AT, TOLERANCE) is SignatureCheck.MISMATCH, "no v1 at all"


def test_a_non_ascii_signature_is_a_mismatch_not_an_error() -> None:
    assert verify(SECRET, f"t={SIGNED_AT},v1=é", BODY, SIGNED_AT, TOLERANCE) is SignatureCheck.MISMATCH
