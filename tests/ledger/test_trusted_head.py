"""The server never re-blesses a forged ledger: it signs only heads that follow from the newest
checkpoint it trusts, kept outside the database (issue 9).

The attack: edit an amount, recompute the hash chain from the published format, delete every row
of ``ledger_checkpoints``. Before, ``verify`` said intact and the next write signed the forged head.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from classroom.errors import LedgerTampered
from server.edge.database import Database
from server.ledger.checkpoints import CheckpointSigner
from server.ledger.store import LEDGER_SCHEMA, LedgerStore
from server.ledger.trust import TRUSTED_FILE, TrustedHead
from tests.ledger.conftest import OpenDatabase, Tamper
from tests.ledger.test_tamper import rewrite_and_recompute_later_hashes, truncate_the_tail
from tests.support.ledger import earned


def delete_every_checkpoint(t: Tamper) -> None:
    t.execute("DELETE FROM ledger_checkpoints")


async def ten_entries(db: Database, signer: CheckpointSigner) -> LedgerStore:
    store = LedgerStore(db, signer)
    for n in range(1, 11):
        await store.append([earned(n, student=f"SW-{n % 3}", amount=100 + n)])
    return store


@pytest.fixture
def guarded(tmp_path: Path) -> CheckpointSigner:
    signer = CheckpointSigner.load_or_create(tmp_path / "keys")
    signer.guard = TrustedHead(tmp_path / "keys" / TRUSTED_FILE)
    return signer


@pytest.mark.parametrize("every_signature", [False, True])
async def test_a_recomputed_chain_with_its_checkpoints_deleted_is_not_intact(
    open_db: OpenDatabase, signer: CheckpointSigner, every_signature: bool
) -> None:
    store = await ten_entries(await open_db(LEDGER_SCHEMA), signer)
    tamper = Tamper(store._db)
    rewrite_and_recompute_later_hashes(tamper)
    delete_every_checkpoint(tamper)
    report = await store.verify(signer.verifier(), every_signature=every_signature)
    assert not report.ok and report.problem is not None
    assert report.problem.kind == "unsigned", report.problem.message


async def test_the_server_refuses_to_sign_a_forged_head(open_db: OpenDatabase, guarded: CheckpointSigner) -> None:
    store = await ten_entries(await open_db(LEDGER_SCHEMA), guarded)
    tamper = Tamper(store._db)
    rewrite_and_recompute_later_hashes(tamper)
    delete_every_checkpoint(tamper)
    head = await store.head()
    with pytest.raises(LedgerTampered, match="rewritten|changed"):
        await store.append([earned(11)])
    assert await store.head() == head and await store.latest_checkpoint() is None
    assert guarded.guard is not None and guarded.guard.refusals == 1  # type: ignore[attr-defined]


async def test_a_rolled_back_ledger_is_refused(open_db: OpenDatabase, guarded: CheckpointSigner) -> None:
    store = await ten_entries(await open_db(LEDGER_SCHEMA), guarded)
    tamper = Tamper(store._db)
    truncate_the_tail(tamper)
    tamper.execute("DELETE FROM ledger_checkpoints WHERE seq > 8")
    with pytest.raises(LedgerTampered, match="rolled back"):
        await store.append([earned(11)])


async def test_the_trust_survives_a_restart_and_honest_writes_go_on(
    open_db: OpenDatabase, guarded: CheckpointSigner, tmp_path: Path
) -> None:
    db = await open_db(LEDGER_SCHEMA)
    await ten_entries(db, guarded)
    restarted = CheckpointSigner.load_or_create(tmp_path / "keys")
    restarted.guard = TrustedHead(tmp_path / "keys" / TRUSTED_FILE)
    assert restarted.guard.trusted is not None and restarted.guard.trusted.seq == 9  # 10 awaits its commit check
    store = LedgerStore(db, restarted)
    await store.append([earned(11)])
    assert (await store.head())[0] == 11 and (await store.verify(restarted.verifier())).ok
    rewrite_and_recompute_later_hashes(Tamper(db))  # rewrites entries 6.. below the trusted seq 9
    delete_every_checkpoint(Tamper(db))
    with pytest.raises(LedgerTampered):
        await store.append([earned(12)])
