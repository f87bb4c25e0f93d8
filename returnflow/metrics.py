"""The Prometheus metrics of the API and worker processes: every business metric, defined once, here.

Not to be confused with ``domain/metrics.py``, the return metrics of the dashboard and of
``GET /v1/metrics/returns``, counted in SQL over a period. These are process counters for
Prometheus: what happened in this process since it started. Each is counted where its event
happens once (see docs/operations.md#metrics-traces-and-health for the list and the labels):

- the read-model activities count what a write of the return changed (``count_transition``):
  created, ended, attention raised, time to refund. The store's revision guard makes a retried
  activity write nothing and so count nothing twice;
- the ledger activity counts refunds paid as it writes them (``count_money``), once per idempotency key;
- the webhook sender counts every delivery attempt by outcome (``WEBHOOK_DELIVERIES``);
- the API counts request latency by route template (``API_REQUEST_DURATION``).

``exposition`` writes the metrics of this process's registry, followed by the Temporal SDK's own
(``SdkMetrics``): the SDK runs its own Prometheus exporter, bound here to a loopback port picked at
start, which ``/metrics`` reads back, so an operator scrapes one port per process.
"""

import asyncio
import socket
import urllib.request

import structlog
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, REGISTRY, Counter, Histogram, generate_latest
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from domain.ledger import MoneyMovement
from domain.metrics import refund_hours
from domain.returns import FINAL_STATUSES, ReturnView, Status
from store.returns import Saved

log = structlog.get_logger("metrics")

RETURNS_CREATED = Counter(
    "returnflow_returns_created", "Returns opened (first write of their read model).", ["type", "channel"]
)
RETURNS_ENDED = Counter("returnflow_returns_ended", "Returns that reached a final status.", ["status"])
ATTENTION_RAISED = Counter(
    "returnflow_attention_raised", "Times a return started waiting for a person, by the attention's reason.", ["reason"]
)
# The ledger rows that pay the customer: refunded to a payment, as store credit, or by a person outside returnflow.
PAYOUT_KINDS = frozenset({"refund", "store_credit", "refund_outside"})
REFUNDS_PAID = Counter(
    "returnflow_refunds_paid", "Payouts written to the money ledger, by kind and currency.", ["kind", "currency"]
)
REFUNDED_AMOUNT = Counter(
    "returnflow_refunded_amount",
    "Money paid out, in major units of the currency (a sum for dashboards; the ledger is the record).",
    ["kind", "currency"],
)
HOUR = 3600.0
TIME_TO_REFUND = Histogram(
    "returnflow_time_to_refund_seconds",
    "From the return's request to its completion (domain.metrics.refund_hours), for completed returns.",
    buckets=[HOUR * hours for hours in (1, 6, 24, 48, 72, 24 * 7, 24 * 14, 24 * 30, 24 * 60)],
)
WEBHOOK_DELIVERIES = Counter(
    "returnflow_webhook_deliveries",
    "Webhook delivery attempts by outcome: delivered, retrying (failed, tried again later) or dead (given up: a "
    "dead letter).",
    ["outcome"],
)
API_REQUEST_DURATION = Histogram(
    "returnflow_api_request_duration_seconds",
    "API request latency by method, route template (not the raw path) and status.",
    ["method", "route", "status"],
)
# The text format both this process and the SDK write, and every Prometheus reads.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
SDK_READ_TIMEOUT_SECONDS = 2.0
# The outcomes of WebhookSender's record_attempt, as the metric names them.
WEBHOOK_OUTCOMES = {"delivered": "delivered", "pending": "retrying", "dead": "dead"}


def count_transition(view: ReturnView, saved: Saved | None, *, channel: str | None = None) -> None:
    """Count what a committed write of ``view`` changed; ``saved`` None (nothing written) counts nothing."""
    if saved is None:
        return
    if saved.status_before is None:
        RETURNS_CREATED.labels(type=view.type, channel=channel or "unknown").inc()
    if view.status in FINAL_STATUSES and view.status != saved.status_before:
        RETURNS_ENDED.labels(status=view.status.value).inc()
        hours = refund_hours(view) if view.status == Status.COMPLETED else None
        if hours is not None:
            TIME_TO_REFUND.observe(hours * HOUR)
    if view.attention is not None and view.attention.reason != saved.attention_before:
        ATTENTION_RAISED.labels(reason=view.attention.reason).inc()


def count_money(movement: MoneyMovement) -> None:
    """Count a ledger row just written (once per idempotency key): a payout to the customer is a refund paid."""
    if movement.kind in PAYOUT_KINDS:
        REFUNDS_PAID.labels(kind=movement.kind, currency=movement.currency).inc()
        REFUNDED_AMOUNT.labels(kind=movement.kind, currency=movement.currency).inc(float(movement.amount))


class SdkMetrics:
    """The Temporal SDK's Prometheus exporter on a loopback port of its own, read back by ``exposition``.

    Give ``runtime`` to the process's Temporal client (``returnflow.temporal.connect``).
    """

    def __init__(self) -> None:
        port = _free_loopback_port()
        self.url = f"http://127.0.0.1:{port}/metrics"
        self.runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"127.0.0.1:{port}")))

    async def text(self) -> bytes:
        """The SDK's metrics; empty (with a warning) when its exporter does not answer.

        Read with urllib in a thread, not httpx: httpx logs every request at INFO, and this one comes with
        every scrape.
        """
        try:
            return await asyncio.to_thread(_read, self.url)
        except OSError as error:  # urllib's errors (URLError, HTTPError, timeouts) are OSErrors
            log.warning("sdk_metrics_unavailable", url=self.url, error=str(error))
            return b""


async def exposition(sdk: SdkMetrics | None) -> bytes:
    """The body of ``GET /metrics`` (``CONTENT_TYPE``): this process's metrics, then the SDK's."""
    body = generate_latest(REGISTRY)
    if sdk is not None:
        body += await sdk.text()
    return body


def _read(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=SDK_READ_TIMEOUT_SECONDS) as response:
        return bytes(response.read())


def _free_loopback_port() -> int:
    """A port the OS says is free now (the SDK binds it a moment later; it takes no socket)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
