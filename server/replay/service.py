"""The replay use cases: authorise against classroom.recordings, then read the stores and files.

Media files live under ``media_root`` (``<data_dir>/recordings``); a track's ``file`` is a path
relative to it, and a path that would leave it is never served or deleted.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import math
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classroom.access import ANY_LESSON, Claims
from classroom.errors import Conflict, NotFound, PermissionDenied, ValidationError
from classroom.recordings import (
    Reach,
    Recording,
    RecordingStatus,
    Track,
    can_add_chapter,
    can_delete,
    can_replay,
    new_chapter,
)
from classroom.roles import Role
from server.lessons.store import LessonStore
from server.replay.store import RecordingStore
from server.replay.timeline import TIMELINE_KINDS, LessonTimeline, TimelineEvent

__all__ = ["CHAPTER_FIELDS", "MAX_TIMELINE_EVENTS", "Media", "ReachOf", "Replay", "StateAt"]

ReachOf = Callable[[Claims], Awaitable[Reach]]
"""The courses and lessons a student or classroom took part in (from the credit bank's records)."""

log = logging.getLogger(__name__)

CHAPTER_FIELDS = frozenset({"at_s", "title"})
MAX_TIMELINE_EVENTS = 5000
"""Events per timeline answer; ask again from the last ``t`` for more."""


@dataclass(frozen=True)
class Media:
    recording: Recording
    track: Track
    path: Path
    stat: os.stat_result


@dataclass(frozen=True)
class StateAt:
    t: float
    revision: int | None
    state: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {"t": self.t, "revision": self.revision, "state": self.state}


class Replay:
    """Lists, serves, annotates and deletes recordings for the callers allowed to."""

    def __init__(self, recordings: RecordingStore, timeline: LessonTimeline, lessons: LessonStore,
                 media_root: Path, reach: ReachOf | None = None) -> None:
        self.recordings = recordings
        self.timeline = timeline
        self.lessons = lessons
        self.media_root = Path(media_root)
        self._reach = reach

    async def reach(self, claims: Claims) -> Reach:
        """What the caller took part in (students and classrooms with an all-lessons token)."""
        if self._reach is None or claims.role not in (Role.STUDENT, Role.CLASSROOM) or claims.lesson != ANY_LESSON:
            return Reach()
        return await self._reach(claims)

    async def list(
        self,
        claims: Claims,
        *,
        lesson_id: str | None = None,
        course: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> builtins.list[Recording]:
        """The recordings the caller may replay, newest first."""
        scoped = claims.lesson != ANY_LESSON
        if scoped and lesson_id is not None and lesson_id != claims.lesson:
            return []
        school = None if claims.role in (Role.STUDENT, Role.CLASSROOM) else claims.school
        found = await self.recordings.list(school=school, lesson_id=claims.lesson if scoped else lesson_id,
                                           course=course, since=since, until=until)
        reach = await self.reach(claims)
        return [recording for recording in found if can_replay(claims, recording, reach)]

    async def get(self, claims: Claims, recording_id: str) -> Recording:
        """NotFound for an unknown id; PermissionDenied when the caller may not replay it."""
        recording = await self.recordings.get(recording_id)
        if not can_replay(claims, recording, await self.reach(claims)):
            raise PermissionDenied(f"token may not replay recording {recording_id}")
        return recording

    async def media(self, claims: Claims, recording_id: str, track_name: str | None) -> Media:
        """A track's file (``None``: the whole-recording download, the teacher's track)."""
        recording = await self.get(claims, recording_id)
        track = recording.download_track() if track_name is None else recording.track(track_name)
        if track is None:
            raise NotFound(f"recording {recording_id} has no track {track_name!r}" if track_name
                           else f"recording {recording_id} has no tracks")
        path = self._resolve(track.file)
        try:
            stat = path.stat() if path is not None else None
        except OSError:
            stat = None
        if path is None or stat is None or not path.is_file():
            raise NotFound(f"the media of track {track.name!r} is not available")
        return Media(recording, track, path, stat)

    async def events(self, claims: Claims, recording_id: str, from_s: float, to_s: float | None,
                     kinds: tuple[str, ...] = TIMELINE_KINDS) -> tuple[Recording, builtins.list[TimelineEvent], bool]:
        """(recording, events with from_s <= t <= to_s, truncated); to_s None: to the end."""
        recording = await self.get(claims, recording_id)
        until = _media_end(recording) if to_s is None else to_s
        found = await self.timeline.timeline(recording.lesson_id, from_s, until, recording.started_at, kinds=kinds,
                                             limit=MAX_TIMELINE_EVENTS + 1)
        return recording, found[:MAX_TIMELINE_EVENTS], len(found) > MAX_TIMELINE_EVENTS

    async def state(self, claims: Claims, recording_id: str, t: float) -> StateAt:
        """The training line at media time ``t`` (state None: no line had been loaded yet)."""
        recording = await self.get(claims, recording_id)
        duration = recording.duration_s
        if duration is not None and t > duration:
            raise ValidationError(f"t must be at most the recording's duration ({duration:.3f} s)")
        found = await self.timeline.state_at(recording.lesson_id, recording.started_at + t)
        return StateAt(t, None, None) if found is None else StateAt(t, found[0], found[1])

    async def add_chapter(self, claims: Claims, recording_id: str, body: Mapping[str, Any]) -> Recording:
        recording = await self.recordings.get(recording_id)
        try:
            teacher: str | None = (await self.lessons.get(recording.lesson_id)).teacher
        except NotFound:
            teacher = None
        if not can_add_chapter(claims, recording, teacher):
            raise PermissionDenied(f"only the teacher of lesson {recording.lesson_id} adds chapters")
        unknown = set(body) - CHAPTER_FIELDS
        if unknown:
            raise ValidationError(f"unknown field(s): {', '.join(sorted(unknown))}")
        if "at_s" not in body:
            raise ValidationError("at_s is required")
        chapter = new_chapter(body["at_s"], body.get("title"), str(claims.principal), recording.duration_s)
        updated = await self.recordings.add_chapter(recording_id, chapter)
        log.info("chapter added recording=%s at_s=%.3f by=%s", recording_id, chapter.at_s, claims.principal)
        return updated

    async def delete(self, claims: Claims, recording_id: str) -> None:
        """Media files, then the timeline rows only this recording covers, then the row."""
        recording = await self.recordings.get(recording_id)
        if not can_delete(claims, recording):
            raise PermissionDenied(f"only an admin of school {recording.school} deletes recordings")
        if recording.status is RecordingStatus.RECORDING:
            raise Conflict(f"recording {recording_id} is still recording")
        self._remove_files(recording)
        others = [r for r in await self.recordings.list(lesson_id=recording.lesson_id) if r.id != recording.id]
        keep = []
        for other in others:
            # Keep another recording's window and the snapshot its first seconds are rebuilt from.
            snapshot = await self.timeline.last_snapshot_at(other.lesson_id, other.started_at)
            keep.append((other.started_at if snapshot is None else snapshot, _wall_end(other)))
        start = -math.inf if not others else recording.started_at
        end = math.inf if not others else _wall_end(recording)
        removed = await self.timeline.delete(recording.lesson_id, start, end, keep)
        await self.recordings.delete(recording_id)
        log.info("recording deleted recording=%s lesson=%s by=%s timeline_rows=%d",
                 recording_id, recording.lesson_id, claims.principal, removed)

    def _resolve(self, file: str) -> Path | None:
        """The track file under the media root, or None if it points elsewhere."""
        root = self.media_root.resolve()
        path = (root / file).resolve()
        if path == root or not path.is_relative_to(root):
            log.warning("track file outside the recordings directory refused file=%r", file)
            return None
        return path

    def _remove_files(self, recording: Recording) -> None:
        root = self.media_root.resolve()
        directories = set()
        for track in recording.tracks:
            path = self._resolve(track.file)
            if path is None:
                continue
            try:
                path.unlink(missing_ok=True)
            except IsADirectoryError:
                log.warning("track file is a directory, not removed path=%s", path)
                continue
            directories.add(path.parent)
        for directory in directories:
            if directory != root:
                with contextlib.suppress(OSError):
                    directory.rmdir()  # only when empty: never anything the recorder keeps beside


def _media_end(recording: Recording) -> float:
    duration = recording.duration_s
    return math.inf if duration is None else duration


def _wall_end(recording: Recording) -> float:
    return math.inf if recording.ended_at is None else recording.ended_at
