"""What a node publishes for witnesses (``/api/ledger/checkpoints``, ``/api/ledger/leaves``), its
``/metrics``, and where its key and trusted checkpoints live (issue 9)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from classroom.errors import LedgerTampered
from classroom.ledger.chain import GENESIS, entry_hash
from server.edge.app import create_app
from server.edge.settings import Settings
from server.ledger.checkpoints import PUBLIC_KEY_FILE, SIGNING_KEY_FILE, CheckpointSigner, CheckpointVerifier
from server.ledger.store import LedgerStore
from tests.ledger.conftest import Tamper
from tests.ledger.test_tamper import rewrite_and_recompute_later_hashes
from tests.support.ledger import earned
from tests.support.tokens import Tokens


@pytest.fixture
async def ledger(app: Starlette, settings: Settings) -> LedgerStore:
    """Ten entries written the way the node writes them: its key, its trusted head, its database."""
    signer = CheckpointSigner.load_or_create(settings.data_dir)
    signer.guard = app.state.trusted_head
    store = LedgerStore(app.state.credits_db, signer)
    for n in range(1, 11):
        await store.append([earned(n)])
    return store


async def test_checkpoints_page_after_a_seq_with_the_newest_one(
        ledger: LedgerStore, client: httpx.AsyncClient, tokens: Tokens) -> None:
    page = (await client.get("/api/ledger/checkpoints?since=2&limit=3", headers=tokens.student())).json()
    assert [cp["seq"] for cp in page["checkpoints"]] == [3, 4, 5]
    assert page["latest"]["seq"] == 10
    verifier = CheckpointVerifier(page["public_key"])
    assert page["key_id"] == verifier.key_id
    empty = (await client.get("/api/ledger/checkpoints?since=10", headers=tokens.teacher())).json()
    assert empty["checkpoints"] == [] and empty["latest"]["seq"] == 10


@pytest.mark.parametrize("query", ["since=-1", "since=x", "limit=0", "limit=1001", "since=" + "9" * 20,
                                   "since=9223372036854775807"])
async def test_bad_checkpoint_queries_are_400(ledger: LedgerStore, client: httpx.AsyncClient, tokens: Tokens,
                                              query: str) -> None:
    response = await client.get(f"/api/ledger/checkpoints?{query}", headers=tokens.student())
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_request"


async def test_the_leaves_hash_to_the_signed_checkpoints(
        ledger: LedgerStore, client: httpx.AsyncClient, tokens: Tokens) -> None:
    partner = tokens.admin("witness", school="west")
    answer = (await client.get("/api/ledger/leaves?after=0&upto=10", headers=partner)).json()
    assert [leaf["seq"] for leaf in answer["leaves"]] == list(range(1, 11)) and answer["head_seq"] == 10
    digest = GENESIS
    for leaf in answer["leaves"]:
        digest = entry_hash(digest, leaf["leaf"].encode("utf-8"))
    checkpoint = await ledger.latest_checkpoint()
    assert checkpoint is not None and (checkpoint.seq, checkpoint.hash) == (10, digest)
    beyond = (await client.get("/api/ledger/leaves?after=8&upto=20", headers=partner)).json()
    assert [leaf["seq"] for leaf in beyond["leaves"]] == [9, 10]  # the ledger ends there


@pytest.mark.parametrize(("query", "status"), [("after=0", 400), ("upto=3", 400), ("after=3&upto=3", 400),
                                               ("after=0&upto=1001", 400), ("after=a&upto=2", 400)])
async def test_bad_leaf_ranges_are_400(ledger: LedgerStore, client: httpx.AsyncClient, tokens: Tokens,
                                       query: str, status: int) -> None:
    response = await client.get(f"/api/ledger/leaves?{query}", headers=tokens.admin())
    assert response.status_code == status


async def test_the_leaves_are_read_only_by_admins_with_an_all_lessons_token(
        ledger: LedgerStore, client: httpx.AsyncClient, tokens: Tokens) -> None:
    url = "/api/ledger/leaves?after=0&upto=3"
    for headers in (tokens.student(), tokens.teacher(), tokens.classroom(), tokens.admin(lesson="L1")):
        response = await client.get(url, headers=headers)
        assert response.status_code == 403, response.text
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, headers=tokens.admin(school="west"))).status_code == 200


async def test_metrics_count_a_refused_forgery(app: Starlette, ledger: LedgerStore, client: httpx.AsyncClient,
                                               tokens: Tokens) -> None:
    before = await client.get("/metrics", headers=tokens.admin())
    assert before.status_code == 200 and before.headers["content-type"].startswith("text/plain")
    assert "classroom_ledger_refusals_total 0.0" in before.text
    tamper = Tamper(app.state.credits_db)
    rewrite_and_recompute_later_hashes(tamper)
    tamper.execute("DELETE FROM ledger_checkpoints")
    with pytest.raises(LedgerTampered):
        await ledger.append([earned(11)])
    after = (await client.get("/metrics", headers=tokens.admin())).text
    assert "classroom_ledger_refusals_total 1.0" in after
    assert "classroom_ledger_trusted_seq 9.0" in after  # 10 is trusted once a later write finds it committed
    for headers in (tokens.teacher(), tokens.admin(lesson="L1"), tokens.student()):
        assert (await client.get("/metrics", headers=headers)).status_code == 403


async def test_the_signing_key_and_the_trusted_file_can_live_outside_the_data_dir(tmp_path: Path) -> None:
    secrets_dir, data_dir = tmp_path / "secrets", tmp_path / "var"
    settings = Settings.from_env({"CLASSROOM_DATA_DIR": str(data_dir),
                                  "CLASSROOM_LEDGER_KEY_FILE": str(secrets_dir / "ledger.key"),
                                  "CLASSROOM_LEDGER_TRUSTED_FILE": str(secrets_dir / "trusted.jsonl")})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        signer = CheckpointSigner.load_or_create(data_dir, settings.ledger_key_file)
        signer.guard = app.state.trusted_head
        store = LedgerStore(app.state.credits_db, signer)
        await store.append([earned(1)])
        await store.append([earned(2)])
        checkpoint = await store.latest_checkpoint()
    assert (secrets_dir / "ledger.key").exists() and not (data_dir / SIGNING_KEY_FILE).exists()
    assert checkpoint is not None
    assert CheckpointVerifier.load(data_dir / PUBLIC_KEY_FILE).check(checkpoint)  # the public half is published
    assert (secrets_dir / "trusted.jsonl").read_text().count("\n") == 1  # seq 1, seen committed by the 2nd write
    assert not (data_dir / "ledger-trusted.jsonl").exists()
