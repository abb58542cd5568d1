"""Patches: RFC 6902 operations (add/remove/replace subset) over the line's JSON document.

``Coalescer`` collects the changes of many revisions and emits one batch holding the
latest value per path and the revision range it covers; ``apply_patch`` applies a
batch to a document (what clients do, and what the tests check).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from classroom.errors import ValidationError

__all__ = ["REMOVED", "Coalescer", "apply_patch", "escape", "pointer"]

REMOVED = object()


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str) -> str:
    return "".join("/" + escape(token) for token in tokens)


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


class Coalescer:
    """Latest value per path across revisions; remembers whether each path existed before."""

    def __init__(self) -> None:
        self._latest: dict[str, Any] = {}
        self._existed: dict[str, bool] = {}
        self.first: int | None = None
        self.last: int | None = None

    def __bool__(self) -> bool:
        return self.first is not None

    def add(self, revision: int, changes: Mapping[str, Any], existed: Mapping[str, Any]) -> None:
        """Record ``changes`` made at ``revision``; ``existed`` is the document before them."""
        if self.first is None:
            self.first = revision
        self.last = revision
        for path, value in changes.items():
            self._existed.setdefault(path, path in existed)
            self._latest[path] = value

    def drain(self) -> dict[str, Any] | None:
        """The batch ``{"from", "to", "ops"}`` since the last drain, or None."""
        if self.first is None:
            return None
        ops = [op for path, value in self._latest.items() if (op := self._op(path, value)) is not None]
        batch = {"from": self.first, "to": self.last, "ops": ops}
        self._latest.clear()
        self._existed.clear()
        self.first = self.last = None
        return batch

    def _op(self, path: str, value: Any) -> dict[str, Any] | None:
        existed = self._existed[path]
        if value is REMOVED:
            return {"op": "remove", "path": path} if existed else None
        return {"op": "replace" if existed else "add", "path": path, "value": value}


def apply_patch(document: dict[str, Any], ops: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A new document with ``ops`` applied; raises ValidationError for an op that does not fit."""
    result = copy.deepcopy(document)
    for op in ops:
        *parents, leaf = [_unescape(t) for t in str(op["path"])[1:].split("/")]
        node: Any = result
        for key in parents:
            node = node.setdefault(key, {}) if op["op"] == "add" else node.get(key)
            if not isinstance(node, dict):
                raise ValidationError(f"path {op['path']} does not exist")
        if op["op"] in ("remove", "replace") and leaf not in node:
            raise ValidationError(f"path {op['path']} does not exist")
        if op["op"] == "remove":
            del node[leaf]
        elif op["op"] in ("add", "replace"):
            node[leaf] = copy.deepcopy(op["value"])
        else:
            raise ValidationError(f"unsupported op {op['op']!r}")
    return result
