"""Payload encryption (returnflow/codec.py) and the codec server Temporal UI and the CLI use (/codec)."""

import base64
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from returnflow.codec import ENCODING, KEY_ID_METADATA, CodecError, EncryptionCodec, new_key_entry, parse_keys
from returnflow.serve import serve_app
from returnflow.settings import Settings
from returnflow.temporal import data_converter
from store.api_keys import create_api_key
from store.db import Database
from tests.api_client import Callers
from tests.conftest import TEST_CODEC_KEYS, settings_for

UI_ORIGIN = "http://127.0.0.1:8233"
OLD = new_key_entry("k1")
NEW = new_key_entry("k2")


def marker() -> str:
    return "SECRET-" + secrets.token_hex(6)


async def clear_payload(value: object) -> Payload:
    """A payload as the pydantic converter makes it, before any codec."""
    [payload] = data_converter().payload_converter.to_payloads([value])
    return payload


# --- the codec -----------------------------------------------------------------------------------


async def test_round_trip_gives_back_the_same_payload() -> None:
    codec = EncryptionCodec.from_text(TEST_CODEC_KEYS)
    original = await clear_payload({"comment": marker(), "amount": "19.99"})

    [encrypted] = await codec.encode([original])
    [decrypted] = await codec.decode([encrypted])

    assert decrypted == original


async def test_encrypted_payload_carries_no_plaintext_and_names_its_key() -> None:
    codec = EncryptionCodec.from_text(TEST_CODEC_KEYS)
    secret = marker()
    original = await clear_payload({"email": f"{secret}@example.com"})

    first, second = await codec.encode([original, original])

    assert secret.encode() not in first.SerializeToString()
    assert b"json" not in first.SerializeToString(), "the original metadata is inside the ciphertext too"
    assert first.metadata == {"encoding": ENCODING, KEY_ID_METADATA: b"test"}
    assert first.data[:12] != second.data[:12] and first.data != second.data, "a fresh nonce per payload"


async def test_data_converter_encrypts_values_and_failure_messages() -> None:
    converter = data_converter()
    secret = marker()

    [payload] = await converter.encode([{"name": secret}])
    failure = Failure()
    await converter.encode_failure(ApplicationError(f"refund for {secret} failed", {"phone": secret}), failure)

    assert secret.encode() not in payload.SerializeToString()
    assert secret.encode() not in failure.SerializeToString()
    assert failure.message == "Encoded failure", "message and stack trace travel in the encrypted attributes"
    assert await converter.decode([payload], [dict]) == [{"name": secret}]
    decoded = await converter.decode_failure(failure)
    assert isinstance(decoded, ApplicationError) and secret in decoded.message


async def test_rotation_new_key_encrypts_old_keys_still_decrypt() -> None:
    before = EncryptionCodec.from_text(OLD)
    after = EncryptionCodec.from_text(f"{NEW},{OLD}")
    original = await clear_payload({"comment": marker()})

    [written_before] = await before.encode([original])
    [written_after] = await after.encode([original])

    assert await after.decode([written_before]) == [original]
    assert await after.decode([written_after]) == [original]
    assert written_after.metadata[KEY_ID_METADATA] == b"k2"


async def test_unknown_key_id_fails_clearly() -> None:
    after = EncryptionCodec.from_text(f"{NEW},{OLD}")
    only_old = EncryptionCodec.from_text(OLD)
    [encrypted] = await after.encode([await clear_payload("x")])

    expected = r"encrypted with key 'k2', which is not in RETURNFLOW_CODEC_KEYS \(known: k1\)"
    with pytest.raises(CodecError, match=expected):
        await only_old.decode([encrypted])


async def test_same_key_id_with_other_key_material_or_altered_data_fails_clearly() -> None:
    [encrypted] = await EncryptionCodec.from_text(OLD).encode([await clear_payload("x")])
    impostor = EncryptionCodec.from_text(new_key_entry("k1"))
    altered = Payload()
    altered.CopyFrom(encrypted)
    altered.data = encrypted.data[:-1] + bytes([encrypted.data[-1] ^ 1])

    with pytest.raises(CodecError, match="key 'k1' failed authentication"):
        await impostor.decode([encrypted])
    with pytest.raises(CodecError, match="failed authentication"):
        await EncryptionCodec.from_text(OLD).decode([altered])


def test_sealed_values_open_only_for_what_they_belong_to_and_survive_a_rotation() -> None:
    before = EncryptionCodec.from_text(OLD)
    sealed = before.seal(b"whsec_value", b"whe_1")
    assert sealed.startswith("k1:") and "whsec_value" not in sealed and before.seal(b"whsec_value", b"whe_1") != sealed
    after = EncryptionCodec.from_text(f"{NEW},{OLD}")
    assert after.unseal(sealed, b"whe_1") == b"whsec_value", "an old key still opens what it sealed"
    assert after.seal(b"x", b"whe_1").startswith("k2:"), "the new key seals"
    with pytest.raises(CodecError, match="failed authentication"):
        before.unseal(sealed, b"whe_2")  # copied to another row
    with pytest.raises(CodecError, match=r"key 'k1', which is not in RETURNFLOW_CODEC_KEYS \(known: k2\)"):
        EncryptionCodec.from_text(NEW).unseal(sealed, b"whe_1")
    with pytest.raises(CodecError, match="not keyid:base64"):
        before.unseal("k1:not base64!", b"whe_1")


async def test_unencrypted_payload_passes_through() -> None:
    original = await clear_payload({"recorded": "before encryption"})

    assert await EncryptionCodec.from_text(TEST_CODEC_KEYS).decode([original]) == [original]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "RETURNFLOW_CODEC_KEYS is empty"),
        (" , ", "RETURNFLOW_CODEC_KEYS is empty"),
        ("no-separator", "entry 1 must be keyid:base64key"),
        ("bad id!:" + base64.b64encode(bytes(32)).decode(), "entry 1 must be keyid:base64key"),
        ("k1:not base64!", "key 'k1' is not valid base64"),
        ("k1:" + base64.b64encode(bytes(16)).decode(), "key 'k1' is 16 bytes; AES-256 needs 32"),
        (f"{OLD},{OLD}", "key id 'k1' is listed twice"),
    ],
    # Named, not by their text: OLD is a random key, and pytest-xdist's workers must collect the same ids.
    ids=["empty", "blank-entries", "no-separator", "bad-id", "bad-base64", "short-key", "duplicate-id"],
)
def test_bad_key_lists_are_refused_without_echoing_the_key(text: str, message: str) -> None:
    with pytest.raises(CodecError, match=message) as error:
        parse_keys(text)
    for entry in text.split(","):
        secret = entry.partition(":")[2].strip()
        if len(secret) > 8:
            assert secret not in str(error.value)


def test_data_converter_requires_keys() -> None:
    with pytest.raises(CodecError, match="RETURNFLOW_CODEC_KEYS is empty"):
        data_converter(Settings(codec_keys=""))


def test_first_key_encrypts() -> None:
    assert list(parse_keys(f"{NEW}, {OLD}")) == ["k2", "k1"]
    assert EncryptionCodec.from_text(f"{NEW},{OLD}").key_id == "k2"


# --- the codec server ----------------------------------------------------------------------------


def as_json(payloads: list[Payload]) -> dict:
    return {"payloads": [json_format.MessageToDict(p) for p in payloads]}


def from_json(body: dict) -> list[Payload]:
    return [json_format.ParseDict(p, Payload()) for p in body["payloads"]]


async def test_decode_endpoint_decrypts_for_an_operator_only(api: Callers) -> None:
    secret = marker()
    encrypted = await data_converter().encode([{"comment": secret}])
    body = as_json(encrypted)

    decoded = await api.operator.post("/codec/decode", json=body, headers={"X-Namespace": "default"})
    anonymous = await api.anonymous.post("/codec/decode", json=body)
    service = await api.service.post("/codec/decode", json=body)

    assert decoded.status_code == 200, decoded.text
    [clear] = from_json(decoded.json())
    assert clear == await clear_payload({"comment": secret})
    assert anonymous.status_code == 401 and anonymous.headers["content-type"] == "application/problem+json"
    assert service.status_code == 403


async def test_encode_endpoint_encrypts_what_the_worker_can_read(api: Callers) -> None:
    secret = marker()

    encoded = await api.operator.post("/codec/encode", json=as_json([await clear_payload({"note": secret})]))

    assert encoded.status_code == 200, encoded.text
    assert all(secret.encode() not in p.SerializeToString() for p in from_json(encoded.json()))
    assert await data_converter().decode(from_json(encoded.json()), [dict]) == [{"note": secret}]
    assert (await api.anonymous.post("/codec/encode", json={"payloads": []})).status_code == 401


async def test_decode_endpoint_passes_plain_payloads_and_names_unknown_keys(api: Callers) -> None:
    plain = await clear_payload({"old": "history"})
    [foreign] = await EncryptionCodec.from_text(new_key_entry("elsewhere")).encode([plain])

    passed = await api.operator.post("/codec/decode", json=as_json([plain]))
    unknown = await api.operator.post("/codec/decode", json=as_json([foreign]))
    malformed = await api.operator.post("/codec/decode", json={"payloads": "none"})

    assert from_json(passed.json()) == [plain]
    assert unknown.status_code == 422 and "'elsewhere'" in unknown.json()["detail"]
    assert malformed.status_code == 422 and malformed.json()["errors"][0]["field"] == "payloads"


async def test_cors_preflight_answers_the_temporal_ui_origin_only(api: Callers) -> None:
    def preflight(origin: str, path: str = "/codec/decode") -> httpx.Request:
        return api.anonymous.build_request(
            "OPTIONS",
            path,
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
            },
        )

    for origin in (UI_ORIGIN, "http://localhost:8233"):
        allowed = await api.anonymous.send(preflight(origin))
        assert allowed.status_code == 200, allowed.text
        assert allowed.headers["access-control-allow-origin"] == origin
        assert allowed.headers["access-control-allow-credentials"] == "true"
        assert "POST" in allowed.headers["access-control-allow-methods"]
        assert {"authorization", "content-type", "x-namespace"} <= {
            h.strip().lower() for h in allowed.headers["access-control-allow-headers"].split(",")
        }

    other_site = await api.anonymous.send(preflight("http://evil.example"))
    assert other_site.status_code == 400 and "access-control-allow-origin" not in other_site.headers
    elsewhere_in_api = await api.anonymous.send(preflight(UI_ORIGIN, "/v1/returns"))
    assert "access-control-allow-origin" not in elsewhere_in_api.headers, "CORS is for /codec only"

    answered = await api.operator.post("/codec/decode", json={"payloads": []}, headers={"Origin": UI_ORIGIN})
    assert answered.status_code == 200 and answered.headers["access-control-allow-origin"] == UI_ORIGIN
    refused = await api.anonymous.post("/codec/decode", json={"payloads": []}, headers={"Origin": UI_ORIGIN})
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == UI_ORIGIN, (
        "the UI can read why it was refused"
    )


@pytest.fixture
async def local_ui_api(
    local_env: WorkflowEnvironment, database: Database, sandbox_url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """The API as the dev stack runs it: the local Temporal UI may decode without a key."""
    settings = settings_for(sandbox_url, database).model_copy(update={"codec_allow_anonymous_local": True})
    async with database.transaction() as session:
        _, service_key = await create_api_key(session, "service")
    async with (
        serve_app(create_app(settings, temporal=local_env.client, database=database)) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        yield client, service_key


async def test_local_ui_may_decode_without_a_key_when_allowed(local_ui_api: tuple[httpx.AsyncClient, str]) -> None:
    client, service_key = local_ui_api
    secret = marker()
    body = as_json(await data_converter().encode([{"comment": secret}]))

    from_ui = await client.post("/codec/decode", json=body, headers={"Origin": UI_ORIGIN})
    no_origin = await client.post("/codec/decode", json=body)
    other_origin = await client.post("/codec/decode", json=body, headers={"Origin": "http://evil.example"})
    service = await client.post(
        "/codec/decode", json=body, headers={"Origin": UI_ORIGIN, "Authorization": f"Bearer {service_key}"}
    )

    assert from_ui.status_code == 200, from_ui.text
    assert secret.encode() in from_json(from_ui.json())[0].data
    assert no_origin.status_code == 401 and other_origin.status_code == 401
    assert service.status_code == 403, "a key that is sent is checked, local or not"
