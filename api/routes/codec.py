"""The codec server: Temporal UI and the ``temporal`` CLI decode returnflow's encrypted payloads here.

It speaks Temporal's remote codec protocol: ``POST /codec/decode`` and
``POST /codec/encode`` take and answer ``{"payloads": [...]}``, each payload in
protobuf JSON (``metadata`` values and ``data`` in base64). It uses the codec of
the API's own Temporal client, so it reads exactly what the API and the worker
write.

Only operators may call it (``Authorization: Bearer <operator key>``; the CLI
sends it with ``--codec-auth``). Temporal UI in a browser cannot send an API key,
so with ``RETURNFLOW_CODEC_ALLOW_ANONYMOUS_LOCAL`` (the dev stack turns it on) a
request without credentials is admitted when it comes from this machine and from
the Temporal UI origin. Browsers reach these paths through CORS for the Temporal
UI origin only (see ``api/app.py``). ``X-Namespace``, which both clients send, is
accepted; one set of keys serves every namespace.
"""

import ipaddress
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from google.protobuf import json_format
from pydantic import BaseModel, ConfigDict, Field
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from api.auth import Caller, allow, authenticate, bearer
from api.deps import AppSettings, Temporal
from api.problems import Problem
from returnflow.codec import CodecError
from returnflow.settings import Settings

router = APIRouter(prefix="/codec", tags=["codec"])

# The headers Temporal UI and the CLI send to a codec server (CORS allows these on /codec).
CORS_HEADERS = ["Content-Type", "Authorization", "X-Namespace"]


class CodecPayload(BaseModel):
    """One ``temporal.api.common.v1.Payload`` in protobuf JSON."""

    model_config = ConfigDict(extra="allow")
    metadata: dict[str, str] = Field(default_factory=dict, description="Metadata values, base64.")
    data: str = Field("", description="The payload's bytes, base64.")


class CodecPayloads(BaseModel):
    payloads: list[CodecPayload] = Field(default_factory=list)


async def codec_caller(
    request: Request,
    settings: AppSettings,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller | None:
    """An operator; or nobody, for the local Temporal UI when the setting allows it."""
    if credentials is None and settings.codec_allow_anonymous_local and from_local_ui(request, settings):
        return None
    return await allow("operator")(await authenticate(request, credentials))


def from_local_ui(request: Request, settings: Settings) -> bool:
    """Sent by a browser showing Temporal UI, on this machine (a page elsewhere cannot forge ``Origin``)."""
    if request.headers.get("origin", "").rstrip("/") not in settings.temporal_ui_origins:
        return False
    try:
        return request.client is not None and ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


Admitted = Annotated[Caller | None, Depends(codec_caller)]


@router.post("/decode", summary="Decode payloads (remote codec protocol)", response_model=CodecPayloads)
async def decode(body: CodecPayloads, temporal: Temporal, _caller: Admitted) -> JSONResponse:
    """Decrypt the payloads; ones that are not encrypted come back unchanged."""
    codec = _codec(temporal)
    return _answer(await _run(codec.decode, _parse(body)))


@router.post("/encode", summary="Encode payloads (remote codec protocol)", response_model=CodecPayloads)
async def encode(body: CodecPayloads, temporal: Temporal, _caller: Admitted) -> JSONResponse:
    """Encrypt the payloads with the current key, as the worker would."""
    codec = _codec(temporal)
    return _answer(await _run(codec.encode, _parse(body)))


def _codec(temporal: Temporal) -> PayloadCodec:
    codec = temporal.data_converter.payload_codec
    if codec is None:
        raise Problem(503, "this API's Temporal client has no payload codec")
    return codec


def _parse(body: CodecPayloads) -> list[Payload]:
    try:
        return list(json_format.ParseDict(body.model_dump(), Payloads(), ignore_unknown_fields=True).payloads)
    except json_format.ParseError as error:
        raise Problem(400, f"the payloads are not valid protobuf JSON: {error}") from None


async def _run(step: Callable[[Sequence[Payload]], Awaitable[list[Payload]]], payloads: list[Payload]) -> list[Payload]:
    try:
        return list(await step(payloads))
    except CodecError as error:
        raise Problem(422, str(error)) from None


def _answer(payloads: list[Payload]) -> JSONResponse:
    return JSONResponse({"payloads": [json_format.MessageToDict(payload) for payload in payloads]})
