"""The dev stack's session secret: one for all its processes, kept across restarts, the configured one first."""

from pathlib import Path

from pydantic import SecretStr

from returnflow.settings import Settings
from returnflow.stack import with_dev_session_secret


def test_the_stack_keeps_one_session_secret_in_its_data_folder(tmp_path: Path) -> None:
    first = with_dev_session_secret(Settings(data_dir=tmp_path, session_secret=SecretStr("")))
    again = with_dev_session_secret(Settings(data_dir=tmp_path, session_secret=SecretStr("")))
    secret = first.session_secret.get_secret_value()
    assert len(secret) >= 32 and again.session_secret.get_secret_value() == secret
    assert (tmp_path / "dev-session-secret").stat().st_mode & 0o077 == 0, "only its owner reads it"
    configured = with_dev_session_secret(Settings(data_dir=tmp_path, session_secret=SecretStr("configured")))
    assert configured.session_secret.get_secret_value() == "configured"
