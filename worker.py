"""The worker: runs ReturnWorkflow, the housekeeping workflows and their activities for the task queue.

It waits for Temporal at start-up (``returnflow.temporal.wait_for_temporal``). With
``temporal_setup_on_start`` (the dev stack) it also registers the search attributes and
creates the Schedules, as ``returnflow temporal setup`` does in production.

``python worker.py`` reads its settings from the environment (see the README).
"""

import asyncio
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import structlog
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxRestrictions

from activities.customer_notifications import CustomerNotifier
from activities.drift_repair import ReadModelRepairer
from activities.exchange_payments import ExchangePaymentActivities
from activities.late_returns import LateReturnActivities
from activities.outbox_retention import OutboxPruner
from activities.partners import PartnerActivities
from activities.read_model import ReadModelActivities
from activities.reconciliation import LedgerReconciler
from activities.stuck_returns import StuckReturnSweeper
from activities.webhooks import WebhookSender
from api.routes.operations import operations_app, temporal_reachable
from connectors.carrier import HttpCarrier
from connectors.fulfilment import HttpFulfilment
from connectors.notifications import HttpNotifications
from connectors.payment_records import HttpPaymentRecords
from connectors.payments import HttpExchangePayments, HttpPayments
from connectors.promotions import HttpPromotions
from connectors.warehouse import HttpWarehouse
from returnflow.codec import EncryptionCodec
from returnflow.interceptors import LoggingInterceptor
from returnflow.logging import configure_logging
from returnflow.metrics import SdkMetrics
from returnflow.process_exit import exit_without_teardown
from returnflow.serve import serve_app
from returnflow.session_secret import session_secret
from returnflow.settings import Settings, get_settings
from returnflow.ssrf import webhook_client
from returnflow.temporal import TemporalUnreachable, wait_for_temporal
from returnflow.temporal_setup import SetupRefused, setup_namespace
from returnflow.tracing import instrument_http, start_tracing
from returnflow.workflow_runner import CompiledSnippetsSandboxRunner, ignores_serialization_context
from store.db import Database
from workflows.housekeeping import HOUSEKEEPING_WORKFLOWS
from workflows.return_workflow import ReturnWorkflow

WORKFLOWS = [ReturnWorkflow, *HOUSEKEEPING_WORKFLOWS]


# The workflow code is imported once, not again into every run's sandbox: re-running return_workflow.py's
# imports and class for each new run took 15 of the 51 ms of worker CPU a create costs (ADR 0011).
# tests/test_layering.py keeps the workflow code off the clock, randomness and I/O instead. The sandbox's own
# snippets are compiled once (returnflow/workflow_runner.py).
def workflow_runner(converter: DataConverter) -> CompiledSnippetsSandboxRunner:
    """The runner of the worker (and of the replay tests) whose data converter is ``converter``."""
    return CompiledSnippetsSandboxRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows"),
        context_free=ignores_serialization_context(converter),
    )


@asynccontextmanager
async def build_worker(client: Client, settings: Settings, database: Database) -> AsyncIterator[Worker]:
    """A worker wired to the partners named in ``settings``; the caller runs it."""
    # Webhooks go to URLs merchants registered: a guarded client of their own, sharing nothing with the partners'.
    async with (
        instrument_http(httpx.AsyncClient(timeout=settings.partner_timeout_seconds)) as http,
        instrument_http(
            webhook_client(
                timeout_seconds=settings.webhook_timeout_seconds,
                allow_private=settings.webhook_allow_private_addresses,
            )
        ) as webhook_http,
    ):
        partners = PartnerActivities(
            database,
            carrier=HttpCarrier(http, settings.sandbox_url),
            warehouse=HttpWarehouse(http, settings.sandbox_url),
            payments=HttpPayments(http, settings.sandbox_url),
            fulfilment=HttpFulfilment(http, settings.sandbox_url),
            site_url=settings.customer_site_url,
        )
        housekeeping: list[Callable[..., Any]] = [
            WebhookSender(
                database,
                webhook_http,
                EncryptionCodec.from_text(settings.codec_keys.get_secret_value()),
                give_up_after=timedelta(hours=settings.webhook_retry_hours),
                timeout_seconds=settings.webhook_timeout_seconds,
            ).deliver_webhooks,
            CustomerNotifier(
                database,
                HttpNotifications(http, settings.sandbox_url),
                max_attempts=settings.notification_max_attempts,
                site_url=settings.customer_site_url,
                link_secret=session_secret(settings),
                link_ttl=timedelta(days=settings.tracking_link_ttl_days),
            ).send_customer_notifications,
            LedgerReconciler(database, HttpPaymentRecords(http, settings.sandbox_url)).reconcile_ledger,
            StuckReturnSweeper(database).sweep_stuck_returns,
            ReadModelRepairer(database).repair_read_model,
            OutboxPruner(database, retention=timedelta(days=settings.outbox_retention_days)).prune_outbox,
        ]
        yield Worker(
            client,
            task_queue=settings.task_queue,
            workflows=WORKFLOWS,
            workflow_runner=workflow_runner(client.data_converter),
            activities=[
                *ReadModelActivities(database).all(),
                *partners.all(),
                *ExchangePaymentActivities(HttpExchangePayments(http, settings.sandbox_url)).all(),
                *LateReturnActivities(
                    database, HttpNotifications(http, settings.sandbox_url), HttpPromotions(http, settings.sandbox_url)
                ).all(),
                *housekeeping,
            ],
            interceptors=[LoggingInterceptor()],
            max_concurrent_activities=settings.worker_max_concurrent_activities,
            max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
            max_concurrent_local_activities=settings.worker_max_concurrent_local_activities,
            max_cached_workflows=settings.worker_max_cached_workflows,
            graceful_shutdown_timeout=timedelta(seconds=settings.worker_graceful_shutdown_seconds),
        )


@asynccontextmanager
async def operations_port(
    settings: Settings, client: Client, worker: Worker, sdk: SdkMetrics | None
) -> AsyncIterator[None]:
    """GET /metrics, /health/live and /health/ready on ``worker_metrics_port``, while the worker runs (0: none).

    Ready: Temporal answers and the worker is polling its task queue.
    """
    if not settings.worker_metrics_port:
        yield
        return

    async def polling() -> None:
        if not worker.is_running:
            raise RuntimeError(f"not polling {settings.task_queue}")

    app = operations_app({"temporal": temporal_reachable(lambda: client), "worker": polling}, sdk)
    async with serve_app(app, host=settings.worker_metrics_host, port=settings.worker_metrics_port) as url:
        structlog.get_logger().info("worker operations port", url=url)
        yield


async def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    start_tracing(settings, "returnflow-worker")
    log = structlog.get_logger()
    # The SDK's metrics are read only by the operations port: no exporter without one.
    sdk = SdkMetrics() if settings.worker_metrics_port else None
    try:
        client = await wait_for_temporal(
            settings, give_up_after=settings.temporal_wait_seconds or None, runtime=sdk.runtime if sdk else None
        )
        log.info("worker starting", task_queue=settings.task_queue, temporal=settings.temporal_address)
        if settings.temporal_setup_on_start:
            await setup_namespace(client, settings)
    except (TemporalUnreachable, SetupRefused) as error:
        log.error(f"worker cannot start: {error}")
        exit_without_teardown(1)
    database = Database(settings.effective_database_url, pool_size=settings.database_pool_size)
    try:
        async with (
            build_worker(client, settings, database) as worker,
            operations_port(settings, client, worker, sdk),
        ):
            # SIGTERM/SIGINT: stop polling and let running tasks finish (graceful_shutdown_timeout).
            loop = asyncio.get_running_loop()
            for stop in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(stop, lambda: asyncio.ensure_future(worker.shutdown()))
            await worker.run()
    finally:
        await database.dispose()


if __name__ == "__main__":
    asyncio.run(main())
    exit_without_teardown(0)
