"""``classroom ledger verify`` end to end: exit 0 on an intact ledger, 1 naming the tampered seq, 2 on usage errors."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from server.edge.cli import main
from server.edge.database import Database, PostgresDatabase, SqliteDatabase
from server.ledger.checkpoints import PUBLIC_KEY_FILE, CheckpointSigner
from server.ledger.store import CREDITS_DB_FILE, LEDGER_SCHEMA, LedgerStore
from server.ledger.verify_cli import DATABASE_URL_ENV
from tests.ledger.conftest import Tamper
from tests.support.databases import postgres_url
from tests.support.ledger import earned


@dataclass
class Home:
    """A data directory with a credit database, as a server would leave it."""

    data_dir: Path
    db: Database
    store: LedgerStore
    args: list[str]  # what selects this database on the command line


@pytest.fixture(params=["sqlite", "postgresql"])
async def home(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Home]:
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    data_dir = tmp_path / "var"
    db: Database
    if request.param == "sqlite":
        db = SqliteDatabase(data_dir / CREDITS_DB_FILE, LEDGER_SCHEMA)
        args = ["--data-dir", str(data_dir)]
    else:
        namespace = f"t_{secrets.token_hex(6)}"
        db = PostgresDatabase(postgres_url(), LEDGER_SCHEMA, namespace=namespace)
        args = ["--data-dir", str(data_dir), "--database-url", postgres_url(), "--namespace", namespace]
    await db.open()
    store = LedgerStore(db, CheckpointSigner.load_or_create(data_dir))
    for n in range(1, 8):
        await store.append([earned(n)])
    yield Home(data_dir, db, store, args)
    await db.close()
    if isinstance(db, PostgresDatabase):
        with psycopg.connect(postgres_url(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{db.namespace}" CASCADE')


async def classroom(*argv: str) -> int:
    """``classroom ...`` in a thread (the command runs its own event loop)."""
    return await asyncio.to_thread(main, list(argv))


async def test_verify_exits_0_on_an_intact_ledger_then_1_naming_the_tampered_seq(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await classroom("ledger", "verify", *home.args) == 0
    out = capsys.readouterr().out
    assert "intact" in out and "entries      7" in out and "signed up to seq 7" in out

    Tamper(home.db).execute("UPDATE ledger_entries SET amount = 1 WHERE seq = 4")
    assert await classroom("ledger", "verify", *home.args) == 1
    out = capsys.readouterr().out
    assert "TAMPERED" in out and "seq 4 changed" in out


async def test_verify_prints_json_on_request(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    Tamper(home.db).execute("DELETE FROM ledger_entries WHERE seq = 3")
    assert await classroom("ledger", "verify", *home.args, "--json", "--every-signature") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["entries"] == 6 and report["checkpoints"] == 7
    assert report["problem"]["seq"] == 3 and report["problem"]["kind"] == "deleted"
    assert report["key_id"] == CheckpointSigner.load_or_create(home.data_dir).key_id


async def test_verify_with_another_public_key_reports_bad_signatures(
    home: Home, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    CheckpointSigner.load_or_create(tmp_path / "other")
    other_key = str(tmp_path / "other" / PUBLIC_KEY_FILE)
    assert await classroom("ledger", "verify", *home.args, "--public-key", other_key) == 1
    assert "seq 7 bad_signature" in capsys.readouterr().out


async def test_the_database_url_comes_from_the_environment_when_not_given(
    home: Home, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [a for a in home.args if a not in ("--database-url", postgres_url())]
    if isinstance(home.db, PostgresDatabase):
        monkeypatch.setenv(DATABASE_URL_ENV, postgres_url())
        assert await classroom("ledger", "verify", *args) == 0
        assert "postgresql schema" in capsys.readouterr().out
    else:  # the variable wins over the SQLite file next to it
        monkeypatch.setenv(DATABASE_URL_ENV, "sqlite:///elsewhere.db")
        assert await classroom("ledger", "verify", *args) == 2
        assert "postgresql://" in capsys.readouterr().err


async def test_a_missing_public_key_is_a_usage_error(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    (home.data_dir / PUBLIC_KEY_FILE).unlink()
    assert await classroom("ledger", "verify", *home.args) == 2
    assert "public key" in capsys.readouterr().err


def test_a_missing_database_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    CheckpointSigner.load_or_create(tmp_path)
    assert main(["ledger", "verify", "--data-dir", str(tmp_path)]) == 2
    assert CREDITS_DB_FILE in capsys.readouterr().err


def test_a_database_without_ledger_tables_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    CheckpointSigner.load_or_create(tmp_path)
    (tmp_path / CREDITS_DB_FILE).write_bytes(b"")
    assert main(["ledger", "verify", "--data-dir", str(tmp_path)]) == 2
    assert "no ledger tables" in capsys.readouterr().err


def test_a_url_that_is_not_postgresql_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    CheckpointSigner.load_or_create(tmp_path)
    assert main(["ledger", "verify", "--data-dir", str(tmp_path), "--database-url", "mysql://x"]) == 2
    assert "postgresql://" in capsys.readouterr().err


def test_ledger_without_a_sub_command_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["ledger"])
    assert exit_.value.code == 2
