"""`evcharge keys …` and the first run's admin key, through the real command."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evcharge.cli import _first_run_admin_key, app
from evcharge.config import Settings


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("EVCHARGE_DATABASE_URL", url)
    monkeypatch.delenv("EVCHARGE_ADMIN_KEY", raising=False)
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    return url


def test_keys_are_printed_once_listed_without_secret_and_revoked(database: str) -> None:
    runner = CliRunner()
    created = runner.invoke(app, ["keys", "create", "--customer", "42"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("evk_")
    key_id = key.split("_")[1]
    admin = runner.invoke(app, ["keys", "create", "--role", "admin"])
    assert admin.exit_code == 0

    listed = runner.invoke(app, ["keys", "list"])
    assert listed.exit_code == 0
    line = next(row for row in listed.stdout.splitlines() if row.startswith(key_id))
    assert line.split()[1:3] == ["customer", "42"]
    assert key.split("_", 2)[2] not in listed.stdout

    assert runner.invoke(app, ["keys", "revoke", key_id]).exit_code == 0
    line = next(
        row for row in runner.invoke(app, ["keys", "list"]).stdout.splitlines() if key_id in row
    )
    assert len(line.split()) == 7  # created, then revoked: date and time each
    missing = runner.invoke(app, ["keys", "revoke", "0000000000000000"])
    assert missing.exit_code == 1


def test_keys_create_needs_exactly_one_scope(database: str) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["keys", "create"]).exit_code == 2
    assert runner.invoke(app, ["keys", "create", "--role", "admin", "--customer", "1"]).exit_code
    assert runner.invoke(app, ["keys", "create", "--role", "customer"]).exit_code == 2


def test_first_run_prints_an_admin_key_once_and_keeps_it_in_a_0600_file(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "var" / "admin.key"
    settings = Settings(database_url=database, admin_key_file=key_file)
    _first_run_admin_key(settings)
    printed = capsys.readouterr().out
    key = key_file.read_text().strip()
    assert key.startswith("evk_") and key in printed
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # Second start: an admin key exists; nothing printed, the file is left alone.
    _first_run_admin_key(settings)
    assert capsys.readouterr().out == ""
    assert key_file.read_text().strip() == key


def test_no_key_is_created_when_evcharge_admin_key_is_set(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "admin.key"
    settings = Settings(
        database_url=database, admin_key="a-deployment-key-0123456789", admin_key_file=key_file
    )
    _first_run_admin_key(settings)
    assert not key_file.exists()
    assert capsys.readouterr().out == ""
