"""Finishing a recording: a copy-only remux that adds the duration and the seek index.

While a lesson runs, files are written in live mode (no seek index, no duration) so a
crash leaves them playable. When the recording ends cleanly, the packets are copied,
not transcoded, into a new file with Cues and Duration, which then replaces the live
one atomically; if anything fails the live file stays as it was.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import av

__all__ = ["make_seekable"]

log = logging.getLogger(__name__)


def make_seekable(path: Path) -> bool:
    """Rewrite ``path`` with a seek index; True on success. Blocking: run it in a thread."""
    partial = path.with_name(path.stem + ".seekable" + path.suffix)
    try:
        _remux(path, partial)
        os.replace(partial, path)
        return True
    except Exception:
        log.exception("recording left in live form path=%s", path)
        partial.unlink(missing_ok=True)
        return False


def _remux(source: Path, target: Path) -> None:
    with av.open(str(source)) as inp:
        streams = [s for s in inp.streams if s.type in ("audio", "video")]
        fmt = "webm" if source.suffix == ".webm" else "matroska"
        with av.open(str(target), "w", format=fmt) as out:
            mapping = {s.index: out.add_stream_from_template(s) for s in streams}
            for packet in inp.demux(*streams):
                if packet.dts is None or packet.size == 0:
                    continue
                packet.stream = mapping[packet.stream.index]
                out.mux(packet)
