"""``classroom ledger verify``: check the credit ledger's hash chain and its signed checkpoints.

The credit database is SQLite ``DATA_DIR/credits.db`` unless ``--database-url`` (or
``CLASSROOM_DATABASE_URL``) names a PostgreSQL database, whose ``classroom`` schema holds the
ledger. The public key is read from ``DATA_DIR/ledger-signing.pub``.

A database editor can rewrite the chain and its checkpoints so that they agree with each other;
what catches that is a checkpoint kept outside the database. The ledger is also compared with
the newest checkpoint in the node's trusted file (``ledger-trusted.jsonl``, or
``CLASSROOM_LEDGER_TRUSTED_FILE``; ``--trusted`` names another) and in each ``--witness-store``
(a partner's ``classroom ledger witness`` directory): that entry must still have the signed hash.

Exit status: 0 the ledger is intact, 1 a problem was found (the report names its seq and kind),
2 a usage error (no database or ledger, no public key, a bad URL).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classroom.ledger.chain import Checkpoint
from classroom.ledger.consistency import Inconsistency, check_known
from classroom.ledger.verify import VerifyReport
from server.edge.database import Database, Tx, open_database
from server.edge.settings import Settings
from server.ledger.checkpoints import PUBLIC_KEY_FILE, CheckpointVerifier
from server.ledger.store import CREDITS_DB_FILE, LEDGER_NAMESPACE, LedgerStore, entry_in, head_in
from server.ledger.trust import read_checkpoints
from server.ledger.witness import CHECKPOINTS_FILE

__all__ = ["DATABASE_URL_ENV", "add_verify_arguments", "run_verify"]

DATABASE_URL_ENV = "CLASSROOM_DATABASE_URL"

_TABLES_EXIST = {
    "sqlite": "SELECT COUNT(*) = 2 FROM sqlite_master WHERE type = 'table' "
    "AND name IN ('ledger_entries', 'ledger_checkpoints')",
    "postgresql": "SELECT to_regclass('ledger_entries') IS NOT NULL AND to_regclass('ledger_checkpoints') IS NOT NULL",
}


class UsageError(Exception):
    """The command cannot run as asked (exit status 2)."""


@dataclass(frozen=True)
class _Target:
    url: str | None
    sqlite_path: Path
    namespace: str
    public_key: Path
    known: tuple[tuple[str, Checkpoint], ...] = ()
    """(where it was kept, the newest checkpoint kept there) for each source outside the database"""

    @property
    def label(self) -> str:
        if self.url:
            return f"postgresql schema {self.namespace}"
        return f"sqlite {self.sqlite_path}"


def add_verify_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``classroom ledger verify``."""
    parser.add_argument("--data-dir", type=Path, help="state directory (CLASSROOM_DATA_DIR)")
    parser.add_argument(
        "--database-url", help=f"postgresql://... ({DATABASE_URL_ENV}); default SQLite {CREDITS_DB_FILE}"
    )
    parser.add_argument("--namespace", default=os.environ.get("CLASSROOM_DATABASE_SCHEMA", LEDGER_NAMESPACE),
                        help="PostgreSQL schema holding the ledger (CLASSROOM_DATABASE_SCHEMA)")
    parser.add_argument("--public-key", type=Path, help=f"PEM public key (default DATA_DIR/{PUBLIC_KEY_FILE})")
    parser.add_argument(
        "--every-signature", action="store_true", help="check every checkpoint's signature, not only the deciding ones"
    )
    parser.add_argument("--trusted", type=Path, help="the node's trusted checkpoints "
                        "(default CLASSROOM_LEDGER_TRUSTED_FILE or DATA_DIR/ledger-trusted.jsonl, when present)")
    parser.add_argument("--witness-store", type=Path, action="append", default=[],
                        help="a witness directory of this ledger (repeatable)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run_verify(args: argparse.Namespace) -> int:
    """Verify and print the report; 0 intact, 1 problem found, 2 usage error."""
    try:
        target = _target(args)
        verifier = _verifier(target.public_key)
        report, outside = asyncio.run(_verify(target, verifier, args.every_signature))
    except UsageError as exc:
        print(f"classroom ledger verify: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(_as_json(report, outside, target, verifier), indent=2))
    else:
        print(_as_text(report, outside, target, verifier))
    return 0 if report.ok and all(problem is None for _, problem in outside) else 1


def _target(args: argparse.Namespace) -> _Target:
    settings = Settings.from_env(os.environ, data_dir=args.data_dir)
    data_dir = settings.data_dir
    url = args.database_url or os.environ.get(DATABASE_URL_ENV) or None
    target = _Target(url, data_dir / CREDITS_DB_FILE, args.namespace, args.public_key or data_dir / PUBLIC_KEY_FILE,
                     _known(args.trusted, settings.ledger_trusted_path(), args.witness_store))
    if url is None and not target.sqlite_path.is_file():
        raise UsageError(f"no credit database at {target.sqlite_path} (give --data-dir or --database-url)")
    return target


def _known(trusted: Path | None, default_trusted: Path, stores: list[Path]) -> tuple[tuple[str, Checkpoint], ...]:
    """The newest checkpoint of each source kept outside the database."""
    if trusted is not None and not trusted.is_file():
        raise UsageError(f"no trusted checkpoints at {trusted}")
    sources = [(f"trusted {trusted or default_trusted}", trusted or default_trusted)]
    for store in stores:
        if not store.is_dir():
            raise UsageError(f"no witness store at {store}")
        sources.append((f"witness {store}", store / CHECKPOINTS_FILE))
    known: list[tuple[str, Checkpoint]] = []
    for label, path in sources:
        try:
            kept = read_checkpoints(path)
        except (OSError, ValueError, TypeError) as exc:
            raise UsageError(f"{label}: unreadable ({exc})") from None
        if kept:
            known.append((label, kept[-1]))
    return tuple(known)


def _verifier(path: Path) -> CheckpointVerifier:
    try:
        return CheckpointVerifier.load(path)
    except FileNotFoundError:
        raise UsageError(f"no ledger public key at {path} (give --public-key)") from None
    except ValueError as exc:
        raise UsageError(f"{path}: not an Ed25519 public key in PEM form ({exc})") from None


Outside = list[tuple[str, Inconsistency | None]]


async def _verify(target: _Target, verifier: CheckpointVerifier, every_signature: bool) -> tuple[VerifyReport, Outside]:
    db = await _open(target)
    try:
        if not await db.transact(_tables_exist):
            raise UsageError(f"{target.label} holds no ledger tables")
        report = await LedgerStore(db, None).verify(verifier, every_signature=every_signature)
        outside = [(label, await db.transact(_compare_in, cp)) for label, cp in target.known]
        return report, outside
    finally:
        await db.close()


def _compare_in(tx: Tx, known: Checkpoint) -> Inconsistency | None:
    """A chain that verifies and still holds ``known``'s hash at its seq holds everything it signed."""
    def hash_at(seq: int) -> str | None:
        entry = entry_in(tx, seq)
        return None if entry is None else entry.hash

    return check_known([known], hash_at, head_in(tx)[0])


async def _open(target: _Target) -> Database:
    import psycopg

    try:
        db = open_database(target.url, target.sqlite_path, (), name="ledger-verify", namespace=target.namespace)
        await db.open()
    except (ValueError, OSError, psycopg.Error) as exc:
        raise UsageError(f"cannot open {target.label}: {exc}") from None
    return db


def _tables_exist(tx: Tx) -> bool:
    row = tx.one(_TABLES_EXIST[tx.dialect])
    return bool(row and row[0])


def _as_json(report: VerifyReport, outside: Outside, target: _Target, verifier: CheckpointVerifier) -> dict[str, Any]:
    compared = [{"source": label, "seq": cp.seq, "ok": problem is None,
                 "problem": None if problem is None else problem.to_json()}
                for (label, cp), (_, problem) in zip(target.known, outside, strict=True)]
    ok = report.ok and all(problem is None for _, problem in outside)
    return {"database": target.label, "key_id": verifier.key_id, **report.to_json(), "ok": ok, "outside": compared}


def _as_text(report: VerifyReport, outside: Outside, target: _Target, verifier: CheckpointVerifier) -> str:
    signed = f"seq {report.signed_seq}" if report.signed_seq else "nothing"
    lines = [
        f"ledger       {target.label}",
        f"entries      {report.entries}",
        f"checkpoints  {report.checkpoints} (key {verifier.key_id}); signed up to {signed}",
        f"head         seq {report.head_seq} hash {report.head_hash}",
    ]
    for (label, cp), (_, mismatch) in zip(target.known, outside, strict=True):
        lines.append(f"compared     {label} at seq {cp.seq}: {'holds' if mismatch is None else 'DIFFERS'}")
    ok = report.ok and all(problem is None for _, problem in outside)
    lines.append(f"result       {'intact' if ok else 'TAMPERED'}")
    if report.problem is not None:
        problem = report.problem
        lines.append(f"problem      seq {problem.seq} {problem.kind}: {problem.message}")
    for label, mismatch in outside:
        if mismatch is not None:
            lines.append(f"problem      seq {mismatch.seq} {mismatch.kind} (against {label}): {mismatch.message}")
    return "\n".join(lines)
