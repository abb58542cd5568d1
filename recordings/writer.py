"""MediaWriter: muxes encoded frames into WebM (Matroska when H.264 is in it) on its own thread.

Nothing is transcoded: frames go into the container as the publisher encoded
them. The event loop only calls ``write`` (a ``queue.Queue.put_nowait``); the
worker thread opens the container, muxes, and writes the trailer on close.
The container is written live (clusters of at most one second, every packet
flushed), so a process killed mid-lesson leaves a file that plays up to about
a second before the kill.

The container is opened once every track's codec is known and every video
track has had a keyframe (its picture size goes into the header), or once
``header_wait_ms`` of media is waiting, with VP8 640x480 / Opus assumed for
tracks still silent (decoders take the real size from the bitstream).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from .bitstream import picture_size

__all__ = ["MediaWriter", "WriterTrack"]

logger = logging.getLogger(__name__)

MS = Fraction(1, 1000)
WEBM_CODECS = frozenset({"vp8", "opus"})
DEFAULT_CODEC = {"video": "vp8", "audio": "opus"}
DEFAULT_SIZE = (640, 480)
CLAMP_MS = 100  # a frame at most this much older than its predecessor is moved up to it; older ones are dropped
_STOP = object()


@dataclass(slots=True)
class WriterTrack:
    """What the writer knows about one track (read from any thread; written by the loop)."""

    kind: str
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    frames: int = 0  # muxed
    last_ms: int = -1  # dts of the last muxed frame


@dataclass(frozen=True, slots=True)
class _Item:
    track: int
    ms: int
    keyframe: bool
    data: bytes


class MediaWriter:
    """Writes one container file ``<stem>.webm`` (or ``<stem>.mkv`` with H.264) from a worker thread.

    ``write`` never blocks and never raises; ``close``/``aclose`` finish the file and
    join the thread. An error in the thread is logged and stops the writer (``failed``).
    """

    def __init__(self, stem: Path, kinds: Sequence[str], *, header_wait_ms: int = 3000,
                 max_queue: int = 4096) -> None:
        self.stem = stem
        self.tracks = [WriterTrack(kind) for kind in kinds]
        self.path: Path | None = None
        self.failed = False
        self.closed = False
        self.dropped = 0
        self.bytes_written = 0
        """encoded media bytes muxed into the file so far (counted by the writer thread)"""
        self._header_wait_ms = header_wait_ms
        self._queue: queue.Queue[Any] = queue.Queue(max_queue)
        self._stop = threading.Event()
        self._need_key = [t.kind == "video" for t in self.tracks]
        self._muxer = _Muxer(self)
        self._thread = threading.Thread(target=self._muxer.run, name=f"recorder-{stem.name}", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def duration_ms(self) -> int:
        return max((t.last_ms for t in self.tracks), default=-1) + 1

    # --- event-loop side ----------------------------------------------------------------

    def write(self, track: int, codec: str, ms: int, keyframe: bool, data: bytes) -> bool:
        """Queue one encoded frame at ``ms`` since the recording started.

        Returns False when the frame was not taken (closed, failed, wrong codec, a
        video frame before a keyframe, or a full queue); for video the caller should
        then ask for a keyframe.
        """
        if self.closed or self.failed:
            return False
        info = self.tracks[track]
        if info.codec is None:
            info.codec = codec
        elif codec != info.codec:
            return False  # one track, one codec: a publisher that switched codec is not recorded
        if self._need_key[track]:
            if not keyframe:
                return False
            if info.width is None:
                info.width, info.height = picture_size(codec, data) or (None, None)
            self._need_key[track] = False
        try:
            self._queue.put_nowait(_Item(track, ms, keyframe, data))
        except queue.Full:
            self.dropped += 1
            self._need_key[track] = info.kind == "video"
            return False
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Finish the file (trailer) and join the thread. Blocking: not for the event loop."""
        self._request_stop()
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.error("recorder thread did not stop within %.0fs file=%s", timeout, self.stem)

    async def aclose(self, timeout: float = 10.0) -> None:
        """``close`` for the event loop: waits for the thread without blocking the loop."""
        self._request_stop()
        deadline = time.monotonic() + timeout
        while self._thread.is_alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if self._thread.is_alive():
            logger.error("recorder thread did not stop within %.0fs file=%s", timeout, self.stem)
        else:
            self._thread.join()

    def _request_stop(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._stop.set()
        with contextlib.suppress(queue.Full):  # if full, the thread drains the queue and then sees the flag
            self._queue.put_nowait(_STOP)

    # --- for the worker thread ------------------------------------------------------------

    def _next(self) -> _Item | None:
        """The next frame, or None when the writer is to stop (blocks the worker thread)."""
        while True:
            try:
                item = self._queue.get(timeout=0.2)
            except queue.Empty:
                if self._stop.is_set():
                    return None
                continue
            return None if item is _STOP else item


class _Muxer:
    """Runs on the worker thread; owns the PyAV container."""

    def __init__(self, writer: MediaWriter) -> None:
        self._w = writer
        self._out: Any = None
        self._streams: dict[int, Any] = {}
        self._pending: list[_Item] = []
        self._need_key: dict[int, bool] = {}

    def run(self) -> None:
        try:
            while (item := self._w._next()) is not None:
                self._take(item)
            if self._out is None and self._pending:
                self._open(final=True)
        except Exception:
            self._w.failed = True
            logger.exception("recorder writer failed file=%s", self._w.stem)
        finally:
            self._finish()

    def _take(self, item: _Item) -> None:
        if self._out is not None:
            self._mux(item)
            return
        self._pending.append(item)
        if self._ready() or self._pending[-1].ms - self._pending[0].ms >= self._w._header_wait_ms:
            self._open(final=False)

    def _ready(self) -> bool:
        return all(t.codec is not None and (t.kind != "video" or t.width is not None) for t in self._w.tracks)

    def _open(self, final: bool) -> None:
        tracks = self._w.tracks
        seen = {item.track for item in self._pending}
        chosen = [i for i, t in enumerate(tracks) if i in seen or not final]
        codecs = {i: tracks[i].codec or DEFAULT_CODEC[tracks[i].kind] for i in chosen}
        webm = all(c in WEBM_CODECS for c in codecs.values())
        path = self._w.stem.with_name(self._w.stem.name + (".webm" if webm else ".mkv"))
        self._out = av.open(str(path), "w", format="webm" if webm else "matroska",
                            options={"live": "1", "cluster_time_limit": "1000"},
                            container_options={"flush_packets": "1"})
        self._w.path = path
        for i in chosen:
            self._streams[i] = self._add_stream(codecs[i], tracks[i])
            self._need_key[i] = tracks[i].kind == "video"
        logger.info("recording opened file=%s codecs=%s", path.name, sorted(codecs.values()))
        pending, self._pending = self._pending, []
        for item in pending:
            self._mux(item)

    def _add_stream(self, codec: str, track: WriterTrack) -> Any:
        if codec == "vp8":
            stream = self._out.add_stream("libvpx", rate=30)
            stream.width, stream.height = self._size(track)
            stream.pix_fmt = "yuv420p"
        elif codec == "h264":
            width, height = self._size(track)
            stream = self._out.add_mux_stream("h264", width=width, height=height)
        elif codec == "opus":
            stream = self._out.add_stream("libopus", rate=48000)
            stream.layout = "stereo"
        else:
            raise ValueError(f"cannot record codec {codec}")
        stream.time_base = MS
        return stream

    @staticmethod
    def _size(track: WriterTrack) -> tuple[int, int]:
        if track.width and track.height:
            return track.width, track.height
        return DEFAULT_SIZE

    def _mux(self, item: _Item) -> None:
        stream = self._streams.get(item.track)
        if stream is None:
            return
        info = self._w.tracks[item.track]
        ms = max(0, item.ms)
        if ms < info.last_ms:
            if info.last_ms - ms > CLAMP_MS:
                self._need_key[item.track] = info.kind == "video"
                return
            ms = info.last_ms
        if self._need_key[item.track]:
            if not item.keyframe:
                return
            self._need_key[item.track] = False
        packet = av.Packet(item.data)
        packet.stream = stream
        packet.pts = packet.dts = ms
        packet.time_base = MS
        packet.is_keyframe = item.keyframe
        self._out.mux(packet)
        info.last_ms = ms
        info.frames += 1
        self._w.bytes_written += len(item.data)

    def _finish(self) -> None:
        if self._out is None:
            return
        try:
            self._out.close()
        except Exception:
            self._w.failed = True
            logger.exception("recorder could not finish file=%s", self._w.stem)
        self._out = None
