"""Salvaging what a killed recorder left on disk: index the files and describe their tracks."""

from __future__ import annotations

import logging
from pathlib import Path

import av

from .finalize import make_seekable
from .recorder import RecordedTrack

__all__ = ["salvage"]

log = logging.getLogger(__name__)

FEED_NAMES = {"video": "camera", "audio": "mic"}


def salvage(directory: Path) -> list[RecordedTrack]:
    """Make each media file in ``directory`` seekable (copy only) and list its tracks. Blocking."""
    tracks: list[RecordedTrack] = []
    for leftover in directory.glob("*.seekable.*"):
        leftover.unlink()
    for path in sorted([*directory.glob("*.webm"), *directory.glob("*.mkv")]):
        make_seekable(path)
        try:
            tracks.extend(_describe(path))
        except Exception:
            log.exception("recording file unreadable path=%s", path)
    return tracks


def _describe(path: Path) -> list[RecordedTrack]:
    owner = "teacher" if path.stem.startswith("teacher") else "classroom:" + path.stem.removeprefix("stage-")
    with av.open(str(path)) as container:
        return [RecordedTrack(path.name, f"{owner}/{FEED_NAMES[s.type]}", s.type, s.codec_context.name,
                              getattr(s, "width", None) or None, getattr(s, "height", None) or None)
                for s in container.streams if s.type in FEED_NAMES]
