"""``classroom ledger witness``: a partner school keeps this node's signed checkpoints and checks
each new one is consistent with what it saw before (issue 9).

The attacks are the ones ``verify`` alone cannot see: a ledger rewritten and re-signed by someone
who also holds the node's key, and a ledger rolled back with its checkpoints. Each is run against
a real server over HTTP; the witness must say which and keep the signed evidence.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from classroom.ledger.chain import Checkpoint
from server.edge.cli import main
from server.ledger.checkpoints import CheckpointSigner
from server.ledger.witness import CHECKPOINTS_FILE, EVIDENCE_FILE, KEY_FILE
from server.ledger.witness_cli import TOKEN_ENV
from tests.ledger.conftest import AT, Tamper
from tests.ledger.node import Node, running_node
from tests.ledger.test_tamper import rewrite_and_recompute_later_hashes, truncate_the_tail


@pytest.fixture(params=["sqlite", "postgresql"])
async def node(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Node]:
    async with running_node(request.param, tmp_path / "east") as running:
        await running.append(1, 10)
        yield running


async def run(node: Node, store: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, Any]:
    """``classroom ledger witness`` (in a thread: it is a blocking client) and its JSON report."""
    argv = ["ledger", "witness", node.url, "--store", str(store), "--token", node.admin, "--json", *extra]
    code = await asyncio.to_thread(main, argv)
    out = capsys.readouterr().out
    return code, (json.loads(out) if out.strip() else {})


def kept(store: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (store / CHECKPOINTS_FILE).read_text().splitlines()]


def resign_everything(node: Node) -> None:
    """What an attacker holding the database and the key does after rewriting: sign the new heads."""
    tamper = Tamper(node.db)
    tamper.execute("DELETE FROM ledger_checkpoints")
    for row in tamper.rows():
        cp = node.signer.sign(int(row[0]), str(row[14]), AT)
        tamper.execute(("INSERT INTO ledger_checkpoints (seq, hash, at, key_id, signature) VALUES (?, ?, ?, ?, ?)",
                        (cp.seq, cp.hash, cp.at, cp.key_id, cp.signature)))


async def test_the_first_run_pins_the_key_and_keeps_every_checkpoint_then_later_runs_check_only_new_ones(
        node: Node, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "witness"
    code, report = await run(node, store, capsys, "--public-key", str(node.public_key))
    assert code == 0, report
    assert report["ok"] is True and report["checked"] == 10
    assert [cp["seq"] for cp in kept(store)] == list(range(1, 11))
    assert (store / KEY_FILE).read_bytes() == node.public_key.read_bytes()

    await node.append(11, 14)
    code, report = await run(node, store, capsys)  # the key is pinned now
    assert code == 0 and report["checked"] == 4
    assert report["head"]["seq"] == 14
    code, report = await run(node, store, capsys)
    assert code == 0 and report["checked"] == 0


async def test_a_ledger_rewritten_and_re_signed_with_the_stolen_key_is_a_fork_with_evidence(
        node: Node, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "witness"
    assert (await run(node, store, capsys, "--public-key", str(node.public_key)))[0] == 0
    tamper = Tamper(node.db)
    rewrite_and_recompute_later_hashes(tamper)  # entry 6's amount, hashes 6..10 recomputed
    resign_everything(node)
    assert (await node.store.verify(node.signer.verifier())).ok  # the database alone looks intact
    await node.append(11, 11)

    code, report = await run(node, store, capsys)
    assert code == 1
    assert report["problem"]["kind"] == "fork", report
    assert report["problem"]["seq"] == 10  # the newest one the witness kept
    [evidence] = [json.loads(line) for line in (store / EVIDENCE_FILE).read_text().splitlines()]
    forged = Checkpoint(**evidence["checkpoint"])
    assert node.signer.verifier().check(forged)  # signed by the node's key: proof it signed two histories
    assert forged.seq == 10 and forged.hash != kept(store)[-1]["hash"]
    assert [cp["seq"] for cp in kept(store)] == list(range(1, 11))  # nothing inconsistent was kept


async def test_a_rewrite_caught_only_by_the_new_leaves_is_a_fork(
        node: Node, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The witness kept up to seq 8; entry 6 is rewritten, then entries 11.. signed: the chain from
    the kept head no longer reaches the newer checkpoints."""
    store = tmp_path / "witness"
    Tamper(node.db).execute("DELETE FROM ledger_checkpoints WHERE seq > 8")
    assert (await run(node, store, capsys, "--public-key", str(node.public_key)))[0] == 0
    assert kept(store)[-1]["seq"] == 8
    rewrite_and_recompute_later_hashes(Tamper(node.db))
    resign_everything(node)
    code, report = await run(node, store, capsys)
    assert code == 1 and report["problem"]["kind"] == "fork"


async def test_a_rolled_back_ledger_is_caught(node: Node, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "witness"
    assert (await run(node, store, capsys, "--public-key", str(node.public_key)))[0] == 0
    tamper = Tamper(node.db)
    truncate_the_tail(tamper)  # entries 9 and 10 gone
    tamper.execute("DELETE FROM ledger_checkpoints WHERE seq > 8")
    assert (await node.store.verify(node.signer.verifier())).ok  # the database alone looks intact

    code, report = await run(node, store, capsys)
    assert code == 1
    assert report["problem"]["kind"] == "rollback" and report["problem"]["seq"] == 10


async def test_a_checkpoint_signed_by_another_key_is_refused(
        node: Node, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "witness"
    Tamper(node.db).execute("DELETE FROM ledger_checkpoints WHERE seq > 8")
    assert (await run(node, store, capsys, "--public-key", str(node.public_key)))[0] == 0
    stranger = CheckpointSigner.load_or_create(tmp_path / "stranger")
    row = Tamper(node.db).rows()[9]
    cp = stranger.sign(10, str(row[14]), AT)
    Tamper(node.db).execute(("INSERT INTO ledger_checkpoints (seq, hash, at, key_id, signature) "
                             "VALUES (?, ?, ?, ?, ?)", (cp.seq, cp.hash, cp.at, cp.key_id, cp.signature)))
    code, report = await run(node, store, capsys)
    assert code == 1 and report["problem"]["kind"] == "signature"
    assert kept(store)[-1]["seq"] == 8


async def test_usage_errors_exit_2_and_conclude_nothing(
        node: Node, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "witness"
    argv = ["ledger", "witness", node.url, "--store", str(store), "--token", node.admin]
    assert await asyncio.to_thread(main, argv) == 2  # no key pinned and none given
    assert "give --public-key on the first run" in capsys.readouterr().err
    assert (await run(node, store, capsys, "--public-key", str(node.public_key)))[0] == 0
    other = CheckpointSigner.load_or_create(tmp_path / "other")
    assert other.key_id != node.signer.key_id
    code, _ = await run(node, store, capsys, "--public-key", str(tmp_path / "other" / "ledger-signing.pub"))
    assert code == 2  # the store pins another key
    bad_token = ["ledger", "witness", node.url, "--store", str(store), "--token", "not-a-token"]
    assert await asyncio.to_thread(main, bad_token) == 2  # 401 from the node
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    assert await asyncio.to_thread(main, ["ledger", "witness", node.url, "--store", str(store)]) == 2
    assert await asyncio.to_thread(main, ["ledger", "witness", "http://127.0.0.1:9", "--store", str(store),
                                          "--token", node.admin]) == 2  # nobody listens
    assert [cp["seq"] for cp in kept(store)] == list(range(1, 11))
    assert not (store / EVIDENCE_FILE).exists()


async def test_verify_compares_the_database_with_the_witness_store_and_the_trusted_file(
        node: Node, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "witness"
    assert (await run(node, store, capsys, "--public-key", str(node.public_key)))[0] == 0
    tamper = Tamper(node.db)
    truncate_the_tail(tamper)
    tamper.execute("DELETE FROM ledger_checkpoints WHERE seq > 8")
    db_args = ["--data-dir", str(node.data_dir)]
    if node.settings.database_url:
        db_args += ["--database-url", node.settings.database_url, "--namespace", node.settings.database_schema]
    assert await asyncio.to_thread(main, ["ledger", "verify", *db_args, "--trusted", str(store / CHECKPOINTS_FILE),
                                          "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["outside"][0]["problem"]["kind"] == "rollback"
    assert await asyncio.to_thread(main, ["ledger", "verify", *db_args, "--witness-store", str(store)]) == 1
    assert "rollback (against witness" in capsys.readouterr().out
