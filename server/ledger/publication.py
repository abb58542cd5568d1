"""What a node publishes of its ledger so partner schools can witness it.

- ``checkpoints``: the signed checkpoints after a seq (any valid token: a checkpoint names only a
  sequence number, a hash and a time), with the newest one, so a witness sees a rollback;
- ``leaves``: the canonical bytes of the entries in a range, the consistency proof between two
  checkpoints of a hash chain (an admin token of any school, not scoped to one lesson: the leaves
  are the entries themselves, student codes and credits included).

``classroom ledger witness`` (``server.ledger.witness``) is the client.
"""

from __future__ import annotations

from typing import Any

from classroom.access import Claims, is_node_reader
from classroom.errors import PermissionDenied, ValidationError
from classroom.ledger.chain import row_leaf
from server.edge.database import Database, Tx
from server.ledger.checkpoints import CheckpointSigner
from server.ledger.store import checkpoints_in, head_in, latest_checkpoint_in, rows_in

__all__ = ["MAX_CHECKPOINTS", "MAX_LEAVES", "LedgerPublication"]

MAX_CHECKPOINTS = 1000
MAX_LEAVES = 1000
_MAX_SEQ = 2**62


class LedgerPublication:
    """Signed checkpoints and entry leaves, read in one short transaction each."""

    def __init__(self, db: Database, signer: CheckpointSigner | None) -> None:
        self._db = db
        self._signer = signer

    async def checkpoints(self, claims: Claims, since: int, limit: int) -> dict[str, Any]:
        """Checkpoints with ``seq > since`` (ascending, at most ``limit``) and the newest one."""
        del claims  # any valid token
        _check_range("since", since)
        if not 1 <= limit <= MAX_CHECKPOINTS:
            raise ValidationError(f"limit must be between 1 and {MAX_CHECKPOINTS}")
        page, latest = await self._db.read(_checkpoints_in, since, limit)
        return {
            "checkpoints": [cp.to_json() for cp in page],
            "latest": None if latest is None else latest.to_json(),
            "key_id": None if self._signer is None else self._signer.key_id,
            "public_key": None if self._signer is None else self._signer.public_key_pem(),
        }

    async def leaves(self, claims: Claims, after: int, upto: int) -> dict[str, Any]:
        """The leaves of entries ``after + 1 .. upto`` (at most MAX_LEAVES; fewer where the ledger ends)."""
        if not is_node_reader(claims):
            raise PermissionDenied("the ledger's entries are read by admins with an all-lessons token")
        _check_range("after", after)
        _check_range("upto", upto)
        if not after < upto <= after + MAX_LEAVES:
            raise ValidationError(f"upto must be above after, by at most {MAX_LEAVES}")
        rows, head = await self._db.read(_leaves_in, after, upto)
        return {"after": after, "upto": upto, "head_seq": head,
                "leaves": [{"seq": int(row[0]), "leaf": _leaf_text(row)} for row in rows]}


def _check_range(name: str, value: int) -> None:
    if not 0 <= value <= _MAX_SEQ:
        raise ValidationError(f"{name} must be a ledger sequence number")


def _checkpoints_in(tx: Tx, since: int, limit: int) -> tuple[list[Any], Any]:
    return checkpoints_in(tx, since, _MAX_SEQ, limit), latest_checkpoint_in(tx)


def _leaves_in(tx: Tx, after: int, upto: int) -> tuple[list[Any], int]:
    return rows_in(tx, after, upto, MAX_LEAVES), head_in(tx)[0]


def _leaf_text(row: Any) -> str | None:
    """The entry's canonical leaf as text, or None when the stored row cannot be encoded (tampered)."""
    leaf = row_leaf(row)
    return None if leaf is None else leaf.decode("utf-8")
