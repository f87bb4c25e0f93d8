"""The one way every process (API, worker, CLI, tests) connects to Temporal.

Every client gets the same data converter: pydantic for values, the encryption
codec for bytes (``returnflow.codec``), and failure messages and stack traces
moved into the encrypted payload, so no PII reaches Temporal in clear.
"""

import dataclasses

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import Runtime

from returnflow.codec import EncryptionCodec
from returnflow.settings import Settings, get_settings
from returnflow.tracing import temporal_interceptors


def data_converter(settings: Settings | None = None) -> DataConverter:
    """The converter of every client and replayer; needs ``RETURNFLOW_CODEC_KEYS`` (raises ``CodecError``)."""
    settings = settings or get_settings()
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec.from_text(settings.codec_keys.get_secret_value()),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    """A client for ``settings``; ``runtime`` is the process's SDK runtime (its metrics: ``SdkMetrics``).

    Traced when tracing is on (``returnflow.tracing``): its workers inherit the interceptor.
    """
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        interceptors=temporal_interceptors(),
        runtime=runtime,
    )
