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
    temporal_address: str = Field("127.0.0.1:7233", description="Temporal frontend host:port.")
    temporal_namespace: str = Field("default", description="Temporal namespace.")
    task_queue: str = Field("returnflow", description="Task queue the worker polls.")
    sandbox_url: str = Field("http://127.0.0.1:8100", description="Base URL of the sandbox partners service.")
    partner_timeout_seconds: float = Field(10.0, description="HTTP timeout for partner calls.")
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
        120.0,
        gt=0,
        description="How long a request may hold its Idempotency-Key in flight before a retry may take it over "
        "(after the API process died mid-request).",
    )
    max_body_bytes: int = Field(256 * 1024, description="Largest request body accepted (413 above); 0 for no limit.")
    create_rate_per_minute: float = Field(
        600.0,
        description="Creating POSTs (e.g. POST /v1/returns) one caller may make a minute, in this API process; "
        "0 for no limit.",
    )
    create_rate_burst: int = Field(
        100, ge=1, description="Creating POSTs one caller may make at once before the rate applies."
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
        description="Secret that signs customer tokens (HMAC-SHA256); every API process must share it. Empty: a "
        "random secret per API process, with a warning (development only: tokens die with the process and one "
        "process does not accept another's).",
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
    notification_max_attempts: int = Field(
        5,
        ge=1,
        description="Attempts at sending one customer notification before it is given up (best effort).",
    )
    customer_site_url: str = Field(
        "http://127.0.0.1:8000",
        description="The address customers reach returnflow at: the links in their messages lead to its "
        "tracking page (/track/{return id}), where the survey of an ended return is answered too.",
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


@lru_cache
def get_settings() -> Settings:
    return Settings()
