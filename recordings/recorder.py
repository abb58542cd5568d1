"""LessonRecorder: the recorder is just another consumer of the lesson's feeds.

It follows the teacher's camera and mic with ``FeedTap``s into ``teacher.webm``
for the whole lesson (a reconnecting teacher keeps one continuous file), and
every on-stage classroom into a file of its own (``stage-<subject>.webm``) for
as long as its feeds are live. Packets become encoded frames on the event loop
(``depacketize``), and a ``MediaWriter`` thread per file muxes them.

The live lesson must never fail because of the recorder: every entry point
from the media plane (packet sink, feed listener, disk guard) catches and logs
its own errors. A disk guard stops every file cleanly and raises
``on_alarm("disk_low", message)`` when free space falls below ``min_free_bytes``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classroom.feeds import FEED_KINDS, STAGE_FEEDS, feed_key, feed_owner
from media import Feed, FeedTap, Router

from .clock import MediaClock
from .depacketize import Depacketizer, depacketizer_for
from .finalize import make_seekable
from .writer import MediaWriter

__all__ = ["Alarm", "LessonRecorder", "RecordedTrack"]

logger = logging.getLogger(__name__)

Alarm = Callable[[str, str], None]  # (code, message)
FreeSpace = Callable[[Path], int]

STAGE_PREFIX = "classroom:"
DEFAULT_MIN_FREE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RecordedTrack:
    file: str  # file name inside the recorder's directory
    feed: str
    kind: str
    codec: str | None
    width: int | None = None
    height: int | None = None


def _disk_free(directory: Path) -> int:
    return shutil.disk_usage(directory).free


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text) or "_"


def _kind_of(router: Router, key: str) -> str:
    feed = router.feeds.get(key)
    if feed is not None:
        return feed.kind
    return FEED_KINDS.get(key.rsplit("/", 1)[-1], "video")


class _TrackTap:
    """One feed -> one track of a file: tap, depacketizer, clock, writer."""

    def __init__(self, recording: _Recording, index: int, feed: Feed) -> None:
        self.feed = feed.key
        self.kind = feed.kind
        self._recording = recording
        self._index = index
        self._mime: str | None = None
        self._depacketizer: Depacketizer | None = None
        self._switches = 0
        self._asked = True  # the feed asks for a keyframe when the tap joins
        self.tap = FeedTap(feed.kind, self._packet)
        feed.add(self.tap)

    def _packet(self, mime: str, clock_rate: int, seq: int, ts: int, marker: int, payload: bytes,
                keyframe: bool) -> None:
        arrival = time.monotonic()
        depacketizer = self._depacketizer_for(mime)
        if depacketizer is None:
            return
        codec = mime.split("/", 1)[1]
        writer, clock = self._recording.writer, self._recording.clock
        for frame in depacketizer.push(seq, ts, marker, payload):
            ms = clock.ms(self._index, frame.timestamp, clock_rate, arrival)
            if not writer.write(self._index, codec, ms, frame.keyframe, frame.data) and self.kind == "video":
                depacketizer.needs_keyframe = True
        if self.kind == "video":
            self._keyframe_wanted(depacketizer.needs_keyframe)

    def _depacketizer_for(self, mime: str) -> Depacketizer | None:
        if mime != self._mime:
            self._mime = mime
            self._depacketizer = depacketizer_for(mime)
            if self._depacketizer is None:
                logger.warning("cannot record codec feed=%s codec=%s", self.feed, mime)
        elif self.tap.switches != self._switches and self._depacketizer is not None:
            self._depacketizer.restart()
        self._switches = self.tap.switches
        return self._depacketizer

    def _keyframe_wanted(self, wanted: bool) -> None:
        if wanted and not self._asked:
            self.tap.request_keyframe()
        self._asked = wanted

    def describe(self, file: str) -> RecordedTrack:
        info = self._recording.writer.tracks[self._index]
        return RecordedTrack(file, self.feed, self.kind, info.codec, info.width, info.height)


class _Recording:
    """One file: a writer and the taps of the feeds recorded into it."""

    def __init__(self, router: Router, stem: Path, keys: Sequence[str]) -> None:
        self.stem = stem
        self.keys = tuple(keys)
        self.closed = False
        self.clock = MediaClock()
        feeds = [router.feed(key, _kind_of(router, key)) for key in keys]
        self.writer = MediaWriter(stem, [feed.kind for feed in feeds])
        self.tracks = [_TrackTap(self, i, feed) for i, feed in enumerate(feeds)]

    @property
    def file(self) -> str:
        path = self.writer.path
        return path.name if path is not None else self.stem.name + ".webm"

    async def close(self, seekable: bool = True) -> None:
        """Finish the file; with ``seekable``, remux it (copy only) to add its seek index."""
        if self.closed:
            return
        self.closed = True
        for track in self.tracks:
            await track.tap.close()
        await self.writer.aclose()
        if seekable and self.writer.path is not None and not self.writer.failed and self.writer.path.exists():
            await asyncio.to_thread(make_seekable, self.writer.path)
        logger.info("recording closed file=%s frames=%s dropped=%s", self.file,
                    [t.frames for t in self.writer.tracks], self.writer.dropped)


class LessonRecorder:
    """Records a lesson's router into ``directory``. Create it on the event loop.

    ``close()`` is idempotent: it detaches every tap, finishes every file and
    cancels and awaits the disk guard and any file-closing task.
    """

    def __init__(self, router: Router, directory: Path, feeds: Sequence[str] = ("teacher/camera", "teacher/mic"),
                 *, min_free_bytes: int = DEFAULT_MIN_FREE_BYTES, on_alarm: Alarm | None = None,
                 check_interval: float = 2.0, free_space: FreeSpace = _disk_free) -> None:
        self.router = router
        self.directory = Path(directory)
        self.started_at = time.time()
        self.closed = False
        self.stopped = False  # no longer recording (closed, or stopped by the disk guard)
        self._began = time.monotonic()
        self._ended: float | None = None
        self._min_free = min_free_bytes
        self._on_alarm = on_alarm
        self._check_interval = check_interval
        self._free_space = free_space
        self._recordings: list[_Recording] = []
        self._stage: dict[str, _Recording] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.directory.mkdir(parents=True, exist_ok=True)
        self._start("teacher", feeds)
        self._unsubscribe = router.on_feeds_changed(self._feeds_changed)
        self._feeds_changed()
        self._guard = asyncio.ensure_future(self._guard_disk())
        logger.info("recorder started lesson=%s dir=%s", router.id, self.directory)

    # --- public surface -----------------------------------------------------------------

    @property
    def tracks(self) -> list[RecordedTrack]:
        return [track.describe(rec.file) for rec in self._recordings for track in rec.tracks]

    @property
    def bytes_written(self) -> int:
        """Encoded media bytes written into this lesson's files so far."""
        return sum(rec.writer.bytes_written for rec in self._recordings)

    @property
    def duration_s(self) -> float:
        return (self._ended if self._ended is not None else time.monotonic()) - self._began

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._guard.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._guard
        await self._stop_all()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        logger.info("recorder closed lesson=%s duration=%.1fs", self.router.id, self.duration_s)

    # --- files -------------------------------------------------------------------------------

    def _start(self, name: str, keys: Sequence[str]) -> _Recording:
        stem = self.directory / _safe_name(name)
        for n in range(2, 1000):
            if not any(stem.with_name(stem.name + ext).exists() for ext in (".webm", ".mkv")):
                break
            stem = self.directory / f"{_safe_name(name)}-{n}"
        recording = _Recording(self.router, stem, keys)
        self._recordings.append(recording)
        return recording

    async def _stop_all(self, seekable: bool = True) -> None:
        if self._ended is None:
            self._ended = time.monotonic()
        self.stopped = True
        self._unsubscribe()
        self._stage.clear()
        for recording in self._recordings:
            try:
                await recording.close(seekable)
            except Exception:
                logger.exception("recording close failed lesson=%s file=%s", self.router.id, recording.file)

    # --- on-stage classrooms -------------------------------------------------------------------

    def _feeds_changed(self) -> None:
        if self.stopped:
            return
        try:
            self._reconcile_stage()
        except Exception:
            logger.exception("recorder could not follow the stage lesson=%s", self.router.id)

    def _reconcile_stage(self) -> None:
        live = [key for key in self.router.live_feeds() if key.startswith(STAGE_PREFIX)]
        owners = {feed_owner(key) for key in live}
        for owner in owners - set(self._stage):
            keys = [feed_key(owner, name) for name in STAGE_FEEDS]
            keys += sorted(k for k in live if feed_owner(k) == owner and k not in keys)
            self._stage[owner] = self._start(f"stage-{owner[len(STAGE_PREFIX):]}", keys)
            logger.info("recording stage lesson=%s owner=%s", self.router.id, owner)
        for owner in set(self._stage) - owners:
            self._own(self._stage.pop(owner).close())

    def _own(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- disk guard -----------------------------------------------------------------------------

    async def _guard_disk(self) -> None:
        while not self.stopped:
            try:
                free = self._free_space(self.directory)
            except Exception:
                logger.exception("recorder cannot read free space dir=%s", self.directory)
                free = self._min_free
            if free < self._min_free:
                await self._disk_low(free)
                return
            await asyncio.sleep(self._check_interval)

    async def _disk_low(self, free: int) -> None:
        message = (f"recording of lesson {self.router.id} stopped: {free} bytes free in {self.directory}, "
                   f"below {self._min_free}")
        logger.error("recorder disk low lesson=%s free=%d min=%d", self.router.id, free, self._min_free)
        await self._stop_all(seekable=False)  # a seekable copy needs as much space again: keep the live file
        if self._on_alarm is not None:
            try:
                self._on_alarm("disk_low", message)
            except Exception:
                logger.exception("recorder alarm handler failed lesson=%s", self.router.id)
