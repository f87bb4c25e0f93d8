"""The one way every process (API, worker, CLI, bench, tests) connects to Temporal.

Every client gets the same data converter: pydantic for values, the encryption
codec for bytes (``returnflow.codec``), and failure messages and stack traces
moved into the encrypted payload, so no PII reaches Temporal in clear.

The connection settings (``temporal_*`` in ``returnflow.settings``) reach any
Temporal: the dev server in clear, a self-hosted cluster over TLS (its CA, a
client certificate for mutual TLS) or Temporal Cloud (an API key). One attempt
is bounded by ``temporal_connect_timeout_seconds`` and fails with a
``TemporalUnreachable`` naming the address and the reason (a refused
connection, a certificate the CA did not sign…). ``wait_for_temporal`` retries
with backoff at start-up, one log line per attempt, except when the settings
themselves are wrong (``TemporalMisconfigured``): retrying cannot fix those.
"""

import asyncio
import dataclasses
import time
from datetime import timedelta
from pathlib import Path

import structlog
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from returnflow.codec import EncryptionCodec
from returnflow.settings import Settings, get_settings
from returnflow.tracing import temporal_interceptors

log = structlog.get_logger()

# Backoff between attempts at start-up: doubles from the first to the last, then stays.
FIRST_RETRY_SECONDS = 1.0
LAST_RETRY_SECONDS = 30.0
# What the SDK's core says (lower-cased) when the settings do not fit the server, and what to fix: no later
# attempt can succeed, so waiting would only hide the mistake.
MISCONFIGURATIONS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("invalidcertificate", "certificate verify failed"),
        "the TLS handshake failed, the server's certificate was refused: check RETURNFLOW_TEMPORAL_TLS_CA_FILE "
        "(the CA that signed it) and RETURNFLOW_TEMPORAL_TLS_SERVER_NAME (a name it carries)",
    ),
    (
        ("400 bad request",),
        "the server answered HTTP 400 instead of gRPC: a TLS proxy that wants a client certificate? "
        "(RETURNFLOW_TEMPORAL_TLS_CERT_FILE and RETURNFLOW_TEMPORAL_TLS_KEY_FILE)",
    ),
    (
        ("invalidcontenttype", "wrong version number"),
        "the server did not answer the TLS handshake: does it speak TLS? (RETURNFLOW_TEMPORAL_TLS and the "
        "settings that imply it)",
    ),
    (
        ("frame_size_error", "h2 protocol error"),
        "the server does not speak gRPC in clear: does it want TLS? (RETURNFLOW_TEMPORAL_TLS)",
    ),
)


class TemporalUnreachable(Exception):
    """One attempt at connecting failed; the message names the address and why."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(f"Temporal at {address}: {reason}")
        self.address = address
        self.reason = reason


class TemporalMisconfigured(TemporalUnreachable):
    """The connection settings are wrong (a file missing, a certificate refused): fix them, retrying will not."""


def data_converter(settings: Settings | None = None) -> DataConverter:
    """The converter of every client and replayer; needs ``RETURNFLOW_CODEC_KEYS`` (raises ``CodecError``)."""
    settings = settings or get_settings()
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec.from_text(settings.codec_keys.get_secret_value()),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def tls_config(settings: Settings) -> TLSConfig | bool:
    """TLS as the settings ask: ``False`` (in clear), or the CA, client certificate and server name to use.

    A CA file, a client certificate or an API key turns TLS on; without a CA file the system's CA
    certificates check the server (Temporal Cloud)."""
    address = settings.temporal_address
    if settings.temporal_tls_cert_file is None and settings.temporal_tls_key_file is not None:
        raise TemporalMisconfigured(address, "RETURNFLOW_TEMPORAL_TLS_KEY_FILE is set without ..._CERT_FILE")
    if settings.temporal_tls_cert_file is not None and settings.temporal_tls_key_file is None:
        raise TemporalMisconfigured(address, "RETURNFLOW_TEMPORAL_TLS_CERT_FILE is set without ..._KEY_FILE")
    wanted = (
        settings.temporal_tls
        or settings.temporal_tls_ca_file is not None
        or settings.temporal_tls_cert_file is not None
        or bool(settings.temporal_api_key.get_secret_value())
    )
    if not wanted:
        return False
    return TLSConfig(
        server_root_ca_cert=_pem(address, settings.temporal_tls_ca_file, "RETURNFLOW_TEMPORAL_TLS_CA_FILE"),
        client_cert=_pem(address, settings.temporal_tls_cert_file, "RETURNFLOW_TEMPORAL_TLS_CERT_FILE"),
        client_private_key=_pem(address, settings.temporal_tls_key_file, "RETURNFLOW_TEMPORAL_TLS_KEY_FILE"),
        domain=settings.temporal_tls_server_name or None,
    )


def _pem(address: str, path: Path | None, variable: str) -> bytes | None:
    if path is None:
        return None
    try:
        content = path.read_bytes()
    except OSError as error:
        raise TemporalMisconfigured(address, f"{variable}: cannot read {path}: {error.strerror}") from None
    if b"-----BEGIN " not in content:
        raise TemporalMisconfigured(address, f"{variable}: {path} is not a PEM file")
    return content


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    """One attempt, bounded by ``temporal_connect_timeout_seconds``; raises ``TemporalUnreachable``.

    ``runtime`` is the process's SDK runtime (its metrics: ``SdkMetrics``). Traced when tracing is on
    (``returnflow.tracing``): its workers inherit the interceptor.
    """
    address = settings.temporal_address
    timeout = settings.temporal_connect_timeout_seconds
    tls = tls_config(settings)
    try:
        async with asyncio.timeout(timeout):
            return await Client.connect(
                address,
                namespace=settings.temporal_namespace,
                api_key=settings.temporal_api_key.get_secret_value() or None,
                tls=tls,
                connect_timeout=timedelta(seconds=timeout),
                data_converter=data_converter(settings),
                interceptors=temporal_interceptors(),
                runtime=runtime,
            )
    except TimeoutError:
        raise TemporalUnreachable(address, f"no answer within {timeout:g} s") from None
    except RuntimeError as error:  # the SDK's core reports connection failures this way
        reason = _reason(error)
        for symptoms, explanation in MISCONFIGURATIONS:
            if any(symptom in reason.lower() for symptom in symptoms):
                raise TemporalMisconfigured(address, f"{explanation} ({reason})") from None
        raise TemporalUnreachable(address, reason) from None


def _reason(error: RuntimeError) -> str:
    """The core's message without its prefix, on one line."""
    text = " ".join(str(error).split())
    return text.removeprefix("Failed client connect: ")


async def wait_for_temporal(settings: Settings, give_up_after: float | None, runtime: Runtime | None = None) -> Client:
    """Connect, retrying with backoff for up to ``give_up_after`` seconds (``None``: for ever) while Temporal
    cannot be reached; logs one line per failed attempt. Raises ``TemporalMisconfigured`` at once, and the
    last ``TemporalUnreachable`` when the time is up."""
    give_up_at = None if give_up_after is None else time.monotonic() + give_up_after
    pause = FIRST_RETRY_SECONDS
    attempt = 1
    while True:
        try:
            return await connect(settings, runtime)
        except TemporalMisconfigured:
            raise
        except TemporalUnreachable as error:
            if give_up_at is not None and time.monotonic() + pause > give_up_at:
                raise
            log.warning(
                f"waiting for Temporal at {error.address}: {error.reason}",
                attempt=attempt,
                retry_in_seconds=pause,
            )
        await asyncio.sleep(pause)
        pause = min(pause * 2, LAST_RETRY_SECONDS)
        attempt += 1
