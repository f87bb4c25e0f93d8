"""Configuration, read from the environment (prefix ``RETURNFLOW_``) and ``.env``.

docs/configuration.md is generated from these fields (name, type, default and
description): give a new field a description, then run ``scripts/docs.py``.
"""

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RETURNFLOW_", env_file=".env", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(Path(".data"), description="Folder for the embedded databases and dev keys.")
    database_url: str = Field(
        "",
        description="SQLAlchemy async URL of the app database; empty means SQLite in data_dir.",
        validation_alias="DATABASE_URL",
    )
    database_pool_size: int = Field(
        20,
        ge=1,
        description="Database connections one process (an API process, a worker) keeps open for its requests "
        "and activities; a burst may open 10 more, closed when given back. On PostgreSQL each is a server "
        "process: keep all processes' sum (plus 10 each) under its max_connections, or put PgBouncer (session "
        "pooling) between.",
    )
    # The connection to Temporal (returnflow/temporal.py; docs/operations.md#connecting-to-a-temporal-cluster).
    temporal_address: str = Field("127.0.0.1:7233", description="Temporal frontend host:port.")
    temporal_namespace: str = Field("default", description="Temporal namespace.")
    task_queue: str = Field("returnflow", description="Task queue the worker polls.")
    temporal_tls: bool = Field(
        False,
        description="Connect to Temporal over TLS, checking its certificate against the system's CA certificates "
        "unless temporal_tls_ca_file is set. Implied by temporal_tls_ca_file, a client certificate and "
        "temporal_api_key.",
    )
    temporal_tls_ca_file: Path | None = Field(
        None, description="PEM file of the CA that signed the Temporal frontend's certificate (a self-hosted cluster)."
    )
    temporal_tls_cert_file: Path | None = Field(
        None, description="PEM file of this process's client certificate, for mutual TLS (with temporal_tls_key_file)."
    )
    temporal_tls_key_file: Path | None = Field(
        None, description="PEM file of the private key of temporal_tls_cert_file."
    )
    temporal_tls_server_name: str = Field(
        "",
        description="Name to check the server's certificate against (and send as SNI) when it is not the host of "
        "temporal_address, e.g. when connecting by IP address or through a proxy.",
    )
    temporal_api_key: SecretStr = Field(
        SecretStr(""),
        description="API key for Temporal Cloud (sent as Authorization: Bearer); turns TLS on.",
    )
    temporal_connect_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="How long one attempt at connecting to Temporal (TCP, TLS handshake, first call) may take.",
    )
    temporal_wait_seconds: float = Field(
        300.0,
        ge=0,
        description="How long the worker and `returnflow temporal setup` retry reaching Temporal at start-up (with "
        "backoff, a log line per attempt) before giving up; 0 retries for ever. The API retries for as long as it "
        "runs, serving meanwhile (503 with Retry-After for what needs Temporal). A refused certificate or a "
        "missing file is not retried.",
    )
    temporal_setup_on_start: bool = Field(
        False,
        description="The worker registers the search attributes and creates the Schedules when it starts, as "
        "`returnflow temporal setup` does. Off in production (run the command once per deploy); the dev stack "
        "turns it on.",
    )
    sandbox_url: str = Field("http://127.0.0.1:8100", description="Base URL of the sandbox partners service.")
    partner_timeout_seconds: float = Field(10.0, description="HTTP timeout for partner calls.")
    sandbox_host: str = Field("127.0.0.1", description="Address the sandbox partners bind to (python -m sandbox).")
    sandbox_port: int = Field(8100, description="Port the sandbox partners listen on (python -m sandbox).")
    sandbox_db: str = Field(
        "",
        description="SQLite file the sandbox partners keep their state in (refunds, shipments, faults); empty: "
        "in memory, lost when the sandbox stops.",
    )
    sandbox_carrier_events_url: str = Field(
        "",
        description="Where the sandbox carrier posts its scans (the API's /v1/carrier-events), signed with "
        "carrier_webhook_secret; empty, or no secret: it posts none.",
    )
    api_host: str = Field("127.0.0.1", description="Address the API binds to.")
    api_port: int = Field(8000, description="Port the API listens on.")
    temporal_ui_port: int = Field(8233, description="Port of Temporal UI (dev stack).")
    log_level: str = Field("INFO", description="Log level: DEBUG, INFO, WARNING, ERROR.")
    log_format: str = Field("auto", description="auto (pretty on a terminal, else JSON), json or console.")
    idempotency_ttl_hours: float = Field(
        24.0,
        gt=0,
        description="How long an Idempotency-Key and its first answer are kept (the contract says 24 h at least).",
    )
    idempotency_lock_seconds: float = Field(
        15.0,
        gt=0,
        description="The in-flight lease on an Idempotency-Key: a running request renews it every third of this "
        "time, so a retry may take the key over this long after the API process that held it died mid-request.",
    )
    max_body_bytes: int = Field(256 * 1024, description="Largest request body accepted (413 above); 0 for no limit.")
    create_rate_per_minute: float = Field(
        600.0,
        description="Creating POSTs (e.g. POST /v1/returns) one caller may make a minute, counted in the database "
        "across every API process; 0 for no limit.",
    )
    create_rate_burst: int = Field(
        100, ge=1, description="Creating POSTs one caller may make at once before the rate applies."
    )
    api_graceful_shutdown_seconds: int = Field(
        20,
        gt=0,
        description="On SIGTERM the API stops accepting connections and gives the requests in flight this long "
        "to answer (uvicorn's timeout_graceful_shutdown). Under Kubernetes' default 30 s grace period; longer than "
        "a partner call (partner_timeout_seconds), the slowest thing a request waits on.",
    )
    api_processes: int = Field(
        1,
        ge=1,
        description="Processes `python -m api` serves the API from, on the one port (uvicorn's workers). Each "
        "answers on one Python core: run one per core the API may use (2 on a 2-core machine, see "
        "docs/operations.md#running-several-workers-and-api-processes).",
    )
    api_key_cache_seconds: float = Field(
        5.0,
        ge=0,
        description="How long an API process trusts an API key it has looked up before asking the database again: "
        "a key revoked through another process (or `returnflow keys revoke`) stops working within this time, at "
        "once in the process that revoked it. 0 looks every request's key up.",
    )
    worker_max_concurrent_activities: int = Field(
        40,
        ge=1,
        description="Activities one worker process runs at once. They mostly wait on partners (a database "
        "connection is held only for short writes), not on the CPU, so 40 fit on 2 cores; fewer than the SDK's "
        "default of 100, so a worker does not take more than it can start promptly from a shared queue.",
    )
    worker_max_concurrent_workflow_tasks: int = Field(
        10,
        ge=2,
        description="Workflow tasks one worker process runs at once. They run Python on one event loop (CPU-bound, "
        "a few ms each), so more than a handful per core only queues them inside the process instead of on the "
        "server, where another worker could take them (the SDK's default is 100).",
    )
    worker_max_concurrent_local_activities: int = Field(
        20,
        ge=1,
        description="Local activities (the quick store calls of workflows/calls.py) one worker process runs at "
        "once; each holds a workflow task open, so a few per workflow task slot.",
    )
    worker_max_cached_workflows: int = Field(
        200,
        ge=0,
        description="Workflows a worker keeps in memory between tasks (the sticky cache), so a return's next "
        "step does not replay its whole history. Each costs the worker about 0.25 MB, and a return that waits "
        "days for a parcel gains nothing from staying: 200 holds several times the returns a 2-core worker has "
        "in flight, and keeps it under 300 MB with 10,000 returns open (./scripts/bench open; the SDK's "
        "default of 1000 would take about 400 MB). 0 turns the cache off.",
    )
    worker_graceful_shutdown_seconds: float = Field(
        20.0,
        ge=0,
        description="On SIGTERM the worker stops taking tasks and lets its running activities finish for this "
        "long before cancelling them. Longer than a partner call (partner_timeout_seconds) and under "
        "Kubernetes' default 30 s grace period.",
    )
    codec_keys: SecretStr = Field(
        SecretStr(""),
        description="Payload encryption keys, comma-separated keyid:base64key (32 bytes); the first encrypts, "
        "all decrypt. Required by every process that talks to Temporal.",
    )
    temporal_ui_origin: str = Field(
        "",
        description="Origins of Temporal UI allowed to call /codec from the browser (comma-separated); "
        "empty: http://127.0.0.1:<temporal_ui_port> and http://localhost:<temporal_ui_port>.",
    )
    codec_allow_anonymous_local: bool = Field(
        False,
        description="Let /codec answer requests without an API key when they come from this machine (loopback) "
        "and from the Temporal UI origin. Development only; the dev stack turns it on.",
    )

    session_secret: SecretStr = Field(
        SecretStr(""),
        description="Secret that signs customer tokens and the tracking links of customers' messages "
        "(HMAC-SHA256); every API and worker process must share it. Empty: a random secret per process, with a "
        "warning (development only: tokens die with the process and one process does not accept another's).",
    )
    session_ttl_minutes: float = Field(
        15.0, gt=0, le=24 * 60, description="How long a customer token from POST /v1/customer-sessions is valid."
    )
    console_idle_minutes: float = Field(
        30.0, gt=0, le=24 * 60, description="An operator's console session ends after this long without a request."
    )
    console_secure_cookie: bool | None = Field(
        None,
        description="Mark the console's session cookie Secure. Unset: Secure when the request came over https "
        "(behind a TLS proxy, run uvicorn with --proxy-headers so it sees X-Forwarded-Proto).",
    )
    carrier_webhook_secret: SecretStr = Field(
        SecretStr(""),
        description="Shared secret carriers sign POST /v1/carrier-events with (Carrier-Signature header). Empty: "
        "signed events are refused and only service keys may post carrier events.",
    )
    carrier_signature_tolerance_seconds: int = Field(
        300, gt=0, description="How far a Carrier-Signature timestamp may be from now before the event is refused."
    )

    webhook_delivery_interval_seconds: float = Field(
        15.0,
        gt=0,
        description="How often the DeliverWebhooksWorkflow schedule sends what is due (webhooks and "
        "customer notifications); applied to the schedule when the worker starts.",
    )
    webhook_retry_hours: float = Field(
        24.0,
        gt=0,
        description="How long a webhook delivery is retried (with backoff) after its event before it "
        "is given up as dead (GET /v1/webhook-deliveries?state=dead).",
    )
    webhook_timeout_seconds: float = Field(10.0, gt=0, description="HTTP timeout of one webhook delivery attempt.")
    webhook_allow_private_addresses: bool = Field(
        False,
        description="Let webhook endpoint URLs resolve to loopback, private, link-local and other non-public "
        "addresses (refused otherwise, when registered and at every delivery; cloud metadata addresses are refused "
        "always). For development and receivers on your own network; the dev stack turns it on.",
    )
    outbox_retention_days: float = Field(
        30.0,
        gt=0,
        description="How long the events of ended returns are kept once every webhook delivery and customer "
        "notification of theirs is finished (delivered, dead, sent or given up); the prune-outbox schedule "
        "deletes older ones.",
    )
    notification_max_attempts: int = Field(
        5,
        ge=1,
        description="Attempts at sending one customer notification before it is given up (best effort).",
    )
    tracking_link_ttl_days: float = Field(
        30.0,
        gt=0,
        le=365,
        description="How long the link in a customer's message opens the return's tracking page without a login "
        "(it opens that one return only).",
    )
    customer_site_url: str = Field(
        "http://127.0.0.1:8000",
        description="The address customers reach returnflow at: the links in their messages lead to its "
        "tracking page (/track/{return id}), where the survey of an ended return is answered too, and a drop-off "
        "return's logistics.qr_code_url is the QR code's image there.",
    )

    worker_metrics_port: int = Field(
        0,
        ge=0,
        le=65535,
        description="Port of the worker's operations server (GET /metrics with the Temporal SDK's and the business "
        "metrics, GET /health/live, GET /health/ready), e.g. 9464; 0: no server (and no SDK metrics).",
    )
    worker_metrics_host: str = Field("0.0.0.0", description="Address the worker's operations server binds to.")
    otlp_traces_endpoint: str = Field(
        "",
        description="OTLP/HTTP endpoint traces are sent to (e.g. http://otel-collector:4318/v1/traces); empty: no "
        "tracing at all.",
    )

    # Assistance (docs/assistance.md): evidence photos, reason suggestions, the learned risk model.
    evidence_max_bytes: int = Field(
        10 * 1024 * 1024, gt=0, description="Largest evidence photo POST /v1/evidence accepts, in bytes (413 above)."
    )
    evidence_max_pixels: int = Field(
        40_000_000,
        gt=0,
        description="Most pixels (width × height) an evidence photo may decode to (413 above): refuses "
        "decompression bombs, small files that would fill the memory.",
    )

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return normalize_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'returnflow.db').resolve()}"

    @property
    def evidence_folder(self) -> Path:
        """Where uploaded evidence photos are kept (store/evidence_files.py)."""
        return self.data_dir / "evidence"

    @property
    def risk_model_path(self) -> Path:
        """The learned risk model ``returnflow risk train`` installs; without the file, the rules alone judge."""
        return self.data_dir / "risk-model.json"

    @property
    def temporal_ui_origins(self) -> list[str]:
        if self.temporal_ui_origin.strip():
            return [origin.strip().rstrip("/") for origin in self.temporal_ui_origin.split(",") if origin.strip()]
        return [f"http://127.0.0.1:{self.temporal_ui_port}", f"http://localhost:{self.temporal_ui_port}"]


def normalize_database_url(url: str) -> str:
    """Accept the URLs people paste (``postgresql://``, ``postgres://``) and pick the async driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


def environment_variable(field: str) -> str:
    """The environment variable that sets the field named ``field``: ``RETURNFLOW_<FIELD>``, or its alias."""
    alias = Settings.model_fields[field].validation_alias
    return alias if isinstance(alias, str) else f"RETURNFLOW_{field.upper()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
