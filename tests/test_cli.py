"""The ``returnflow`` command line: API keys and migrations against an embedded SQLite database.

These tests are sync on purpose: the CLI runs its own event loop.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from returnflow.cli import app
from returnflow.settings import Settings
from store import operators
from store.api_keys import hash_key, role_for_key
from store.db import Database
from store.tables import ApiKey

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("RETURNFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABASE_URL", "")  # SQLite in the data folder, whatever the environment says
    return tmp_path / "data"


def role_of(secret: str) -> str | None:
    async def lookup() -> str | None:
        async with database() as session:
            return await role_for_key(session, secret)

    return asyncio.run(lookup())


def id_of(secret: str) -> str | None:
    async def lookup() -> str | None:
        async with database() as session:
            return await session.scalar(select(ApiKey.id).where(ApiKey.key_hash == hash_key(secret)))

    return asyncio.run(lookup())


@asynccontextmanager
async def database() -> AsyncIterator[AsyncSession]:
    db = Database(Settings().effective_database_url)
    try:
        async with db.transaction() as session:
            yield session
    finally:
        await db.dispose()


def test_db_upgrade_creates_the_embedded_database(data_dir: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (data_dir / "returnflow.db").exists()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0  # safe to repeat


@pytest.mark.parametrize("role", ["service", "operator"])
def test_created_key_is_printed_alone_and_authenticates(data_dir: Path, role: str) -> None:
    result = runner.invoke(app, ["keys", "create", "--role", role, "--label", "test"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert secret and "\n" not in secret and " " not in secret
    assert role_of(secret) == role
    assert role_of(secret + "x") is None


def test_revoked_key_no_longer_authenticates(data_dir: Path) -> None:
    created = runner.invoke(app, ["keys", "create", "--role", "service"])
    secret = created.stdout.strip()
    key_id = id_of(secret)
    assert key_id is not None and key_id in created.stderr

    revoked = runner.invoke(app, ["keys", "revoke", key_id])
    assert revoked.exit_code == 0, revoked.output
    assert role_of(secret) is None

    again = runner.invoke(app, ["keys", "revoke", key_id])
    assert again.exit_code == 1
    assert "No active key" in again.stderr


def test_unknown_role_is_a_usage_error(data_dir: Path) -> None:
    result = runner.invoke(app, ["keys", "create", "--role", "admin"])
    assert result.exit_code == 2
    assert "service" in result.stderr and "operator" in result.stderr
    assert result.stdout == ""


def test_policy_files_are_validated_with_the_field_named_and_applied_as_new_versions(data_dir, tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("window_days: 45\nno_reason_window_days: 60\n")
    good = tmp_path / "good.json"
    good.write_text('{"window_days": 45, "return_shipping_fee": "4.99"}')

    refused = runner.invoke(app, ["policy", "apply", str(bad)])
    assert refused.exit_code == 1
    assert "no_reason_window_days" in refused.output

    applied = runner.invoke(app, ["policy", "apply", str(good)])
    assert applied.exit_code == 0, applied.output
    assert "version 2" in applied.output
    shown = runner.invoke(app, ["policy", "show"])
    assert '"return_shipping_fee": "4.99"' in shown.stdout


def can_log_in(name: str, password: str) -> bool:
    async def check() -> bool:
        async with database() as session:
            return await operators.check_password(session, name, password) is not None

    return asyncio.run(check())


def test_operators_create_asks_for_a_password_and_the_operator_can_log_in(data_dir: Path) -> None:
    created = runner.invoke(app, ["operators", "create", "mei"], input="long enough secret\nlong enough secret\n")
    assert created.exit_code == 0, created.output
    assert can_log_in("mei", "long enough secret")
    again = runner.invoke(app, ["operators", "create", "mei"], env={"RETURNFLOW_OPERATOR_PASSWORD": "another secret!"})
    assert again.exit_code == 1 and "exists already" in again.output
    reset = runner.invoke(
        app, ["operators", "create", "mei", "--reset"], env={"RETURNFLOW_OPERATOR_PASSWORD": "another secret!"}
    )
    assert reset.exit_code == 0 and can_log_in("mei", "another secret!")
    assert not can_log_in("mei", "long enough secret")


def test_operators_create_refuses_a_short_password_or_a_bad_name(data_dir: Path) -> None:
    short = runner.invoke(app, ["operators", "create", "mei"], env={"RETURNFLOW_OPERATOR_PASSWORD": "short"})
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    bad = runner.invoke(app, ["operators", "create", "Mei Li"], env={"RETURNFLOW_OPERATOR_PASSWORD": "x" * 12})
    assert bad.exit_code == 1 and "lowercase" in bad.output


def test_operators_disable_locks_the_operator_out(data_dir: Path) -> None:
    runner.invoke(app, ["operators", "create", "li"], env={"RETURNFLOW_OPERATOR_PASSWORD": "twelve chars!"})
    disabled = runner.invoke(app, ["operators", "disable", "li"])
    assert disabled.exit_code == 0, disabled.output
    assert not can_log_in("li", "twelve chars!")
    assert runner.invoke(app, ["operators", "disable", "li"]).exit_code == 1
