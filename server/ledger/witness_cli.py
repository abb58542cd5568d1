"""``classroom ledger witness URL``: check another node's ledger against what was seen before.

    classroom ledger witness https://east.example.edu --store witness/east --public-key east.pub

The token (an admin token of that node, not scoped to one lesson) comes from ``--token`` or
``CLASSROOM_WITNESS_TOKEN``. The public key is pinned in the store on the first run; later runs use
the pinned key and refuse another. Run it on a timer (every few minutes): each run checks what the
node signed since the last one.

Exit status: 0 consistent, 1 a fork, a rollback or a bad signature was found (the report names
it; ``evidence.jsonl`` in the store keeps the signed checkpoint that proves it), 2 a usage or
network error (nothing concluded).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import httpx

from server.ledger.checkpoints import CheckpointVerifier
from server.ledger.witness import FetchError, Witness, WitnessReport, WitnessStore

__all__ = ["TOKEN_ENV", "add_witness_arguments", "run_witness"]

TOKEN_ENV = "CLASSROOM_WITNESS_TOKEN"
TIMEOUT_S = 30.0


class _UsageError(Exception):
    pass


def add_witness_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", help="the witnessed node's base URL, e.g. https://east.example.edu")
    parser.add_argument("--store", type=Path, required=True, help="this ledger's witness directory")
    parser.add_argument("--public-key", type=Path, help="the node's PEM public key (pinned on the first run)")
    parser.add_argument("--token", help=f"an admin token of that node, not scoped to one lesson ({TOKEN_ENV})")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run_witness(args: argparse.Namespace) -> int:
    """Witness once and print the report; 0 consistent, 1 inconsistent, 2 usage or network error."""
    try:
        store = WitnessStore(args.store)
        verifier = _pinned_verifier(store, args.public_key)
        token = args.token or os.environ.get(TOKEN_ENV)
        if not token:
            raise _UsageError(f"no token (give --token or set {TOKEN_ENV})")
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=args.url, headers=headers, timeout=TIMEOUT_S) as client:
            report = Witness(client, verifier, store).run()
    except (_UsageError, FetchError) as exc:
        print(f"classroom ledger witness: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"url": args.url, **report.to_json()}, indent=2) if args.json else _as_text(args.url, report))
    return 0 if report.ok else 1


def _pinned_verifier(store: WitnessStore, public_key: Path | None) -> CheckpointVerifier:
    pinned = store.pinned_key()
    given = _read_key(public_key) if public_key is not None else None
    if pinned is None:
        if given is None:
            raise _UsageError(f"{store.path} pins no key yet: give --public-key on the first run")
        verifier = _verifier(given, public_key)
        store.pin(given)
        return verifier
    verifier = _verifier(pinned, store.path)
    if given is not None and _verifier(given, public_key).key_id != verifier.key_id:
        raise _UsageError(f"{store.path} pins key {verifier.key_id}; --public-key names another: "
                          "a node does not change its key silently (start a new store if it did)")
    return verifier


def _read_key(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _UsageError(f"cannot read {path}: {exc.strerror}") from None


def _verifier(pem: bytes, source: Path | None) -> CheckpointVerifier:
    try:
        return CheckpointVerifier(pem)
    except ValueError as exc:
        raise _UsageError(f"{source}: not an Ed25519 public key in PEM form ({exc})") from None


def _as_text(url: str, report: WitnessReport) -> str:
    head = "nothing yet" if report.head is None else f"seq {report.head.seq} hash {report.head.hash}"
    lines = [
        f"ledger       {url}",
        f"checked      {report.checked} new checkpoint(s)",
        f"witnessed    {head}",
        f"result       {'consistent' if report.ok else 'INCONSISTENT'}",
    ]
    if report.problem is not None:
        lines.append(f"problem      seq {report.problem.seq} {report.problem.kind}: {report.problem.message}")
    return "\n".join(lines)
