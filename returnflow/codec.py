"""Encryption of everything returnflow sends through Temporal (PII never travels in clear).

Every payload (workflow and activity inputs and results, signals, updates, queries,
memos, failure details, and — through the failure converter — failure messages and
stack traces) is encrypted with AES-256-GCM before it leaves the process, and
decrypted when it comes back. Temporal stores only ciphertext.

Keys come from ``RETURNFLOW_CODEC_KEYS``: a comma-separated list of ``keyid:base64key``
(32 random bytes each). The first key encrypts; every key listed decrypts. To rotate,
put a new key first and keep the old ones for as long as histories written with them
may be read (running returns, replays, Temporal UI).

A payload that is not encrypted is decoded as it is, so histories recorded before
encryption was switched on still replay. ``python -m returnflow.codec`` prints a new key.

The same keys seal the few secrets the database keeps (webhook endpoints' signing
secrets): ``seal``/``unseal``, text of the form ``keyid:base64(nonce || ciphertext+tag)``
bound to what it belongs to (its associated data), so a sealed value copied to another
row does not open. Rotation works the same way: keep a key listed while anything sealed
with it is kept.
"""

import base64
import os
import re
import secrets
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12
KEY_BYTES = 32  # AES-256
KEY_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


class CodecError(Exception):
    """A key list that cannot be used, or a payload that cannot be decrypted; the message says which."""


def parse_keys(text: str) -> dict[str, bytes]:
    """``"k2:BASE64,k1:BASE64"`` -> ``{"k2": key, "k1": key}``, in order (the first encrypts).

    Errors name the entry by position and key id, never the key material.
    """
    keys: dict[str, bytes] = {}
    for position, entry in enumerate((part.strip() for part in text.split(",")), start=1):
        if not entry:
            continue
        key_id, separator, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not separator or not KEY_ID.match(key_id):
            raise CodecError(
                f"RETURNFLOW_CODEC_KEYS entry {position} must be keyid:base64key "
                "(key id: letters, digits, '.', '_' or '-', at most 64)"
            )
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except ValueError:
            raise CodecError(f"RETURNFLOW_CODEC_KEYS: key {key_id!r} is not valid base64") from None
        if len(key) != KEY_BYTES:
            raise CodecError(f"RETURNFLOW_CODEC_KEYS: key {key_id!r} is {len(key)} bytes; AES-256 needs {KEY_BYTES}")
        if key_id in keys:
            raise CodecError(f"RETURNFLOW_CODEC_KEYS: key id {key_id!r} is listed twice")
        keys[key_id] = key
    if not keys:
        raise CodecError(
            "RETURNFLOW_CODEC_KEYS is empty: every process that talks to Temporal needs the payload "
            "encryption keys (`python -m returnflow.codec` prints a new one; see the README, Encryption)"
        )
    return keys


def new_key_entry(key_id: str | None = None) -> str:
    """A fresh ``keyid:base64key`` entry for ``RETURNFLOW_CODEC_KEYS``."""
    key_id = key_id or "k" + datetime.now(UTC).strftime("%Y%m%d") + "-" + secrets.token_hex(2)
    if not KEY_ID.match(key_id):
        raise CodecError(f"invalid key id {key_id!r}")
    return f"{key_id}:{base64.b64encode(os.urandom(KEY_BYTES)).decode()}"


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM, a random 12-byte nonce per payload, the key id in the metadata.

    The encrypted payload is ``nonce || ciphertext+tag`` of the whole original
    payload (metadata included), with the key id as associated data.
    """

    def __init__(self, keys: Mapping[str, bytes]):
        if not keys:
            raise CodecError("EncryptionCodec needs at least one key")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.key_id = next(iter(keys))  # the one that encrypts

    @classmethod
    def from_text(cls, text: str) -> "EncryptionCodec":
        return cls(parse_keys(text))

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        key_id = self.key_id.encode()
        sealed = self._ciphers[self.key_id].encrypt(nonce, payload.SerializeToString(), key_id)
        return Payload(metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id}, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before encryption was switched on (or by a codec-less client)
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        return Payload.FromString(self._open("payload", key_id, payload.data, key_id.encode()))

    def seal(self, clear: bytes, belongs_to: bytes) -> str:
        """``clear`` encrypted for keeping at rest, as text; only ``unseal`` with the same ``belongs_to`` opens it."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.key_id].encrypt(nonce, clear, self.key_id.encode() + b"\0" + belongs_to)
        return f"{self.key_id}:{base64.b64encode(nonce + sealed).decode()}"

    def unseal(self, sealed: str, belongs_to: bytes) -> bytes:
        key_id, _, encoded = sealed.partition(":")
        try:
            data = base64.b64decode(encoded, validate=True)
        except ValueError:
            raise CodecError("sealed value is not keyid:base64") from None
        return self._open("sealed value", key_id, data, key_id.encode() + b"\0" + belongs_to)

    def _open(self, what: str, key_id: str, data: bytes, associated: bytes) -> bytes:
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            known = ", ".join(sorted(self._ciphers))
            raise CodecError(
                f"{what} was encrypted with key {key_id!r}, which is not in RETURNFLOW_CODEC_KEYS "
                f"(known: {known}); add it back to read this data"
            )
        try:
            return cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], associated)
        except InvalidTag:
            raise CodecError(
                f"{what} encrypted with key {key_id!r} failed authentication: the key material for that "
                "id is different from the one that encrypted it, or the data was altered"
            ) from None


if __name__ == "__main__":
    print(new_key_entry(sys.argv[1] if len(sys.argv) > 1 else None))
