"""What a lesson-channel client holds of the training line, by the rules in docs/protocol.md."""

from __future__ import annotations

from typing import Any

from classroom.training.patches import apply_patch

__all__ = ["ClientDocument"]


class ClientDocument:
    """A document and its revision, fed by ``training.snapshot`` and ``training.patch`` in order."""

    def __init__(self) -> None:
        self.document: dict[str, Any] | None = None
        self.revision = -1
        self.gaps = 0

    def absorb(self, message: dict[str, Any]) -> bool:
        """Apply a training message; False for any other message."""
        if message["type"] == "training.snapshot":
            self.document, self.revision = message["state"], message["revision"]
        elif message["type"] == "training.patch":
            if self.document is None:
                return True
            if message["from"] > self.revision + 1:
                self.gaps += 1  # a real client would send training.resync here
            elif message["to"] > self.revision:
                self.document = apply_patch(self.document, message["ops"])
                self.revision = message["to"]
        else:
            return False
        return True
