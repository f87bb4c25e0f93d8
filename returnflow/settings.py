"""Configuration, read from the environment (prefix ``RETURNFLOW_``) and ``.env``.

Every field here is documented in the README's configuration table; keep the two
in step.
"""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RETURNFLOW_", env_file=".env", extra="ignore", populate_by_name=True
    )

    data_dir: Path = Field(Path(".data"), description="Folder for the embedded databases and dev keys.")
    database_url: str = Field(
        "",
        description="SQLAlchemy async URL of the app database; empty means SQLite in data_dir.",
        validation_alias="DATABASE_URL",
    )
    temporal_address: str = Field("127.0.0.1:7233", description="Temporal frontend host:port.")
    temporal_namespace: str = Field("default", description="Temporal namespace.")
    task_queue: str = Field("returnflow", description="Task queue the worker polls.")
    sandbox_url: str = Field(
        "http://127.0.0.1:8100", description="Base URL of the sandbox partners service."
    )
    partner_timeout_seconds: float = Field(10.0, description="HTTP timeout for partner calls.")
    api_host: str = Field("127.0.0.1", description="Address the API binds to.")
    api_port: int = Field(8000, description="Port the API listens on.")
    temporal_ui_port: int = Field(8233, description="Port of Temporal UI (dev stack).")
    log_level: str = Field("INFO", description="Log level: DEBUG, INFO, WARNING, ERROR.")
    log_format: str = Field("auto", description="auto (pretty on a terminal, else JSON), json or console.")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return normalize_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'returnflow.db').resolve()}"


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
