"""Witnessing another node's ledger: fetch its signed checkpoints, check they are consistent with
what was seen before, and keep them.

A witness holds, for one ledger, the node's public key (pinned on the first run) and every
checkpoint it has checked (``checkpoints.jsonl``, appended and fsynced). Each run:

1. reads the node's newest checkpoint; one older than the newest kept here is a **rollback**;
2. pages through the checkpoints after the newest kept one, checking every signature against the
   pinned key and that seqs increase;
3. fetches the leaves (entry bytes) after the newest kept checkpoint and hashes them onto its hash
   (:class:`classroom.ledger.consistency.RunningHead`): every newer checkpoint must match, or the
   ledger was rewritten (a **fork**);
4. keeps the checked checkpoints. Signed statements that contradict what was kept are written to
   ``evidence.jsonl``: with the kept checkpoint, they prove the node signed two histories.

Two schools each witnessing the other's ledger make a forged or rolled-back credit visible to the
school that recognised it (RFC 6962 section 2.1.2; C2SP tlog-witness).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from classroom.ledger.chain import Checkpoint
from classroom.ledger.consistency import Inconsistency, RunningHead
from server.ledger.checkpoints import CheckpointVerifier
from server.ledger.trust import read_checkpoints

__all__ = ["CHECKPOINTS_FILE", "FetchError", "Witness", "WitnessReport", "WitnessStore"]

CHECKPOINTS_FILE = "checkpoints.jsonl"
EVIDENCE_FILE = "evidence.jsonl"
KEY_FILE = "public-key.pem"
PAGE = 1000
MAX_LINE = 4096


class FetchError(Exception):
    """The node could not be read (network, status, malformed answer): nothing is concluded."""


@dataclass(frozen=True)
class WitnessReport:
    checked: int
    """Checkpoints checked and kept in this run."""
    head: Checkpoint | None
    """The newest checkpoint kept."""
    problem: Inconsistency | None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "head": None if self.head is None else self.head.to_json(),
                "problem": None if self.problem is None else self.problem.to_json()}


class WitnessStore:
    """One witnessed ledger's directory: the pinned key, the kept checkpoints, the evidence."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def pinned_key(self) -> bytes | None:
        key = self.path / KEY_FILE
        return key.read_bytes() if key.exists() else None

    def pin(self, pem: bytes) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        _append(self.path / KEY_FILE, pem.decode("ascii"))

    def checkpoints(self) -> list[Checkpoint]:
        return read_checkpoints(self.path / CHECKPOINTS_FILE)

    def last(self) -> Checkpoint | None:
        kept = self.checkpoints()
        return kept[-1] if kept else None

    def keep(self, checkpoints: list[Checkpoint]) -> None:
        if checkpoints:
            _append(self.path / CHECKPOINTS_FILE, "".join(_line(cp) for cp in checkpoints))

    def evidence(self, checkpoint: Checkpoint, problem: Inconsistency) -> None:
        record = {"checkpoint": checkpoint.to_json(), **problem.to_json()}
        _append(self.path / EVIDENCE_FILE, json.dumps(record, sort_keys=True) + "\n")


class Witness:
    """Checks one node's ledger against a store, over its HTTP API."""

    def __init__(self, client: httpx.Client, verifier: CheckpointVerifier, store: WitnessStore) -> None:
        self._client = client
        self._verifier = verifier
        self._store = store

    def run(self) -> WitnessReport:
        """Check everything the node signed since the last run; keep what is consistent."""
        kept = self._store.last()
        problem = None if kept is None else self._rolled_back(kept) or self._same_as_kept(kept)
        if problem is not None:
            return WitnessReport(0, kept, problem)
        return self._advance(kept)

    def _rolled_back(self, kept: Checkpoint) -> Inconsistency | None:
        """The node's newest checkpoint must not be older than the newest one kept."""
        latest = self._get("/api/ledger/checkpoints", since=0, limit=1)["latest"]
        latest_cp = None if latest is None else _checkpoint(latest)
        if latest_cp is not None and latest_cp.seq >= kept.seq:
            return None
        where = "no checkpoint" if latest_cp is None else f"its newest checkpoint at seq {latest_cp.seq}"
        problem = Inconsistency("rollback", kept.seq, f"seq {kept.seq} was witnessed, but the node now "
                                f"shows {where}: the ledger was rolled back")
        if latest_cp is not None:
            self._store.evidence(latest_cp, problem)
        return problem

    def _same_as_kept(self, kept: Checkpoint) -> Inconsistency | None:
        """The node's checkpoint at the kept seq, where it still has one, must be the kept one."""
        answer = self._get("/api/ledger/checkpoints", since=kept.seq - 1, limit=1)["checkpoints"]
        now = _checkpoint(answer[0]) if answer else None
        if now is None or now.seq != kept.seq or now.hash == kept.hash:
            return None  # pruned or consistent: the leaves decide
        problem = Inconsistency("fork", kept.seq, f"the node now signs hash {now.hash[:16]}... at seq {kept.seq}, "
                                f"not the witnessed {kept.hash[:16]}...: the ledger was rewritten")
        if self._verifier.check(now):
            self._store.evidence(now, problem)
        return problem

    def _advance(self, kept: Checkpoint | None) -> WitnessReport:
        head = RunningHead(kept)
        checked = 0
        while True:
            page = [_checkpoint(item) for item in
                    self._get("/api/ledger/checkpoints", since=head.seq, limit=PAGE)["checkpoints"]]
            if not page:
                return WitnessReport(checked, kept, None)
            problem = self._check_signed(page, head.seq)
            if problem is None:
                problem = self._extend(head, page)
            if problem is not None:
                bad = next((cp for cp in page if cp.seq == problem.seq), page[0])
                self._store.evidence(bad, problem)
                return WitnessReport(checked, kept, problem)
            self._store.keep(page)
            checked += len(page)
            kept = page[-1]

    def _check_signed(self, page: list[Checkpoint], after: int) -> Inconsistency | None:
        for cp in page:
            if cp.seq <= after:
                return Inconsistency("order", cp.seq, f"checkpoint {cp.seq} does not follow seq {after}")
            if not self._verifier.check(cp):
                return Inconsistency("signature", cp.seq, f"checkpoint {cp.seq} is not signed by the pinned key "
                                     f"{self._verifier.key_id} (key {cp.key_id})")
            after = cp.seq
        return None

    def _extend(self, head: RunningHead, page: list[Checkpoint]) -> Inconsistency | None:
        """Hash the leaves up to the page's last checkpoint onto ``head``, checking the page."""
        upto = page[-1].seq
        try:
            while head.seq < upto:
                problem = head.extend(self._leaves(head.seq, min(upto, head.seq + PAGE)), page)
                if problem is not None:
                    return problem
        except _Missing as missing:
            signed = next(cp for cp in page if cp.seq >= missing.seq)
            return Inconsistency("fork", signed.seq, f"checkpoint {signed.seq} is signed, but entry {missing.seq} "
                                 "is missing or unreadable")
        return None

    def _leaves(self, after: int, upto: int) -> Iterator[bytes]:
        answer = self._get("/api/ledger/leaves", after=after, upto=upto)
        expected = after + 1
        for item in answer["leaves"]:
            if item.get("seq") != expected or not isinstance(item.get("leaf"), str):
                raise _Missing(expected)
            yield item["leaf"].encode("utf-8")
            expected += 1
        if expected <= upto:
            raise _Missing(expected)

    def _get(self, path: str, **params: int) -> dict[str, Any]:
        try:
            response = self._client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise FetchError(f"GET {path}: {exc}") from None
        if response.status_code != 200:
            raise FetchError(f"GET {path}: HTTP {response.status_code} {response.text[:200]}")
        try:
            data = response.json()
        except ValueError:
            raise FetchError(f"GET {path}: the answer is not JSON") from None
        if not isinstance(data, dict):
            raise FetchError(f"GET {path}: the answer is not a JSON object")
        return data


class _Missing(Exception):
    def __init__(self, seq: int) -> None:
        super().__init__(seq)
        self.seq = seq


def _checkpoint(data: Any) -> Checkpoint:
    try:
        cp = Checkpoint(int(data["seq"]), str(data["hash"]), str(data["at"]), str(data["key_id"]),
                        str(data["signature"]))
    except (KeyError, TypeError, ValueError):
        raise FetchError(f"malformed checkpoint: {json.dumps(data)[:200]}") from None
    if len(_line(cp)) > MAX_LINE:
        raise FetchError("a checkpoint is too long")
    return cp


def _line(cp: Checkpoint) -> str:
    return json.dumps(asdict(cp), sort_keys=True) + "\n"


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
