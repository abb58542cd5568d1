"""Recording every live lesson: started when the teacher publishes, finished when the lesson ends.

Nobody has to remember a button: a lesson created with ``recording`` on (the default)
is recorded from the teacher's first publish. The recorder is a consumer of the
lesson's router (recordings.LessonRecorder); its failures never reach the live lesson.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from classroom.lessons import Lesson
from classroom.recordings import Chapter, Recording, RecordingStatus, Track
from media import MediaEngine
from recordings import LessonRecorder
from recordings.salvage import salvage
from server.lessons.service import Lessons
from server.replay.store import RecordingStore

__all__ = ["LiveRecordings"]

log = logging.getLogger(__name__)

TellTeacher = Callable[[str, dict[str, Any]], None]


class LiveRecordings:
    def __init__(self, engine: MediaEngine, lessons: Lessons, store: RecordingStore, directory: Path,
                 tell_teacher: TellTeacher, min_free_bytes: int = 512 * 1024 * 1024) -> None:
        self._engine = engine
        self._store = store
        self._directory = directory
        self._tell_teacher = tell_teacher
        self._min_free = min_free_bytes
        self.active: dict[str, tuple[str, LessonRecorder]] = {}
        self._finished_bytes = 0
        self._closing: set[LessonRecorder] = set()  # finishing their files: still counted in bytes_written
        self._tasks: set[asyncio.Task[None]] = set()
        lessons.on_live.append(self.lesson_live)
        lessons.on_ended.insert(0, self.lesson_ended)  # finish the files before the router closes

    async def lesson_live(self, lesson: Lesson) -> None:
        if not lesson.recording or lesson.id in self.active:
            return
        recording_id = secrets.token_hex(8)
        recorder = LessonRecorder(self._engine.router(lesson.id), self._directory / recording_id,
                                  min_free_bytes=self._min_free, on_alarm=self._alarm(lesson.id))
        self.active[lesson.id] = (recording_id, recorder)
        await self._store.create(Recording(recording_id, lesson.id, lesson.school, lesson.course, lesson.title,
                                           recorder.started_at, None, RecordingStatus.RECORDING))
        log.info("recording started lesson=%s recording=%s", lesson.id, recording_id)

    @property
    def in_progress(self) -> int:
        """Recordings being written now."""
        return sum(1 for _, recorder in list(self.active.values()) if not recorder.stopped)

    @property
    def bytes_written(self) -> int:
        """Encoded media bytes written into recording files by this process (finished ones included)."""
        open_recorders = [recorder for _, recorder in list(self.active.values())] + list(self._closing)
        return self._finished_bytes + sum(recorder.bytes_written for recorder in open_recorders)

    async def add_chapter(self, lesson_id: str, title: str, by: str) -> float | None:
        """A chapter at the current point of the lesson's recording; its media time, or None if not recording."""
        entry = self.active.get(lesson_id)
        if entry is None:
            return None
        recording_id, recorder = entry
        at_s = round(recorder.duration_s, 3)
        await self._store.add_chapter(recording_id, Chapter(at_s, title, by))
        return at_s

    async def lesson_ended(self, lesson_id: str) -> None:
        await self._finish(lesson_id, RecordingStatus.COMPLETE)

    def salvage_interrupted(self, recording_ids: list[str]) -> None:
        """Index and describe what killed recorders left, in the background (start-up is not held up)."""
        for recording_id in recording_ids:
            task = asyncio.ensure_future(self._salvage(recording_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _salvage(self, recording_id: str) -> None:
        try:
            found = await asyncio.to_thread(salvage, self._directory / recording_id)
            tracks = [Track(t.feed, t.kind, t.codec or "", f"{recording_id}/{t.file}", t.width, t.height)
                      for t in found]
            await self._store.update(recording_id, tracks=tracks)
            log.info("interrupted recording salvaged recording=%s tracks=%d", recording_id, len(tracks))
        except Exception:
            log.exception("interrupted recording could not be salvaged recording=%s", recording_id)

    async def close(self) -> None:
        """Server shutdown: finish every file; the recordings are marked interrupted."""
        for lesson_id in list(self.active):
            await self._finish(lesson_id, RecordingStatus.INTERRUPTED)
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _alarm(self, lesson_id: str) -> Callable[[str, str], None]:
        def alarm(code: str, message: str) -> None:
            self._tell_teacher(lesson_id, {"type": "recording.alarm", "code": code, "message": message})
            task = asyncio.ensure_future(self._finish(lesson_id, RecordingStatus.STOPPED_DISK_LOW))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        return alarm

    async def _finish(self, lesson_id: str, status: RecordingStatus) -> None:
        entry = self.active.pop(lesson_id, None)
        if entry is None:
            return
        recording_id, recorder = entry
        self._closing.add(recorder)
        try:
            await recorder.close()
            tracks = [Track(t.feed, t.kind, t.codec or "", f"{recording_id}/{t.file}", t.width, t.height)
                      for t in recorder.tracks]
            await self._store.update(recording_id, status=status, ended_at=time.time(), tracks=tracks)
            log.info("recording finished lesson=%s recording=%s status=%s", lesson_id, recording_id, status.value)
        except Exception:
            log.exception("recording could not be finished lesson=%s recording=%s", lesson_id, recording_id)
        finally:
            self._closing.discard(recorder)
            self._finished_bytes += recorder.bytes_written
