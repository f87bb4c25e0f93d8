"""OpenTelemetry traces across API → workflow → activity → partner HTTP call, when an OTLP endpoint is set.

One tracer provider per process, set by ``start_tracing`` at start-up (the API's and the worker's):
with ``otlp_traces_endpoint`` empty there is none, and nothing is instrumented at all (no spans, no
cost). With one, each face is instrumented with that provider:

- ``instrument_app``: the FastAPI instrumentation, a server span per request (the API leaves out
  /metrics and the health probes);
- ``temporal_interceptors``: temporalio's ``TracingInterceptor`` on the Temporal client, which the
  client's workers inherit; it carries the span context in Temporal headers from the client call
  through the workflow to its activities;
- ``instrument_http``: the httpx instrumentation on a client (the partners' and the webhooks'), a
  client span per call, with the W3C ``traceparent`` header so the partner can continue the trace.

Tests install a provider of their own (an in-memory exporter) with ``tracing_with``.
"""

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import httpx
from fastapi import FastAPI
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor

from returnflow.settings import Settings

_provider: TracerProvider | None = None


def start_tracing(settings: Settings, service_name: str) -> None:
    """Send this process's spans to ``settings.otlp_traces_endpoint`` (batched); no-op when it is empty."""
    global _provider
    if not settings.otlp_traces_endpoint or _provider is not None:
        return
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_traces_endpoint)))
    _provider = provider


def stop_tracing() -> None:
    """Send the spans still batched (``returnflow.process_exit``: a process leaving without teardown skips the
    provider's own flush at exit)."""
    if _provider is not None:
        _provider.shutdown()


@contextmanager
def tracing_with(provider: TracerProvider) -> Iterator[None]:
    """Trace with ``provider`` what is built inside the block (tests: an in-memory exporter)."""
    global _provider
    earlier, _provider = _provider, provider
    try:
        yield
    finally:
        _provider = earlier


def temporal_interceptors() -> list[Interceptor]:
    """The interceptors a Temporal client gets: none when tracing is off."""
    if _provider is None:
        return []
    return [TracingInterceptor(_provider.get_tracer("returnflow.temporal"))]


def instrument_app(app: FastAPI, untraced_paths: Iterable[str] = ()) -> None:
    """A server span per request, except for ``untraced_paths``."""
    if _provider is not None:
        # The instrumentation searches these patterns in the request's URL.
        excluded = ",".join(re.escape(path) + "$" for path in untraced_paths)
        FastAPIInstrumentor.instrument_app(app, tracer_provider=_provider, excluded_urls=excluded or None)


def instrument_http(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """``client``, instrumented when tracing is on."""
    if _provider is not None:
        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=_provider)
    return client
