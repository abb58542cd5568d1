"""Recordings of lessons: the entity, its chapters, and who may replay, annotate or delete it.

Pure: no I/O. A recording is written by the recorder (recordings/), kept by a RecordingStore
(server/replay/store.py) and served for replay by server/replay/routes.py.

Times: ``started_at``/``ended_at`` are Unix seconds on the server wall clock (the clock of the
lesson's event log); ``Chapter.at_s`` and every replay position are seconds on the *media
clock*, i.e. seconds since ``started_at``.

Access (``can_replay``), every token's lesson scope being a restriction for every role:

- teachers and admins replay the recordings of their own school (``claims.school``) whose
  lesson their token's scope covers (``"*"``, or that lesson);
- students and classrooms replay a recording when their token is scoped to exactly that
  recording's lesson (a lesson-scoped token may come from another school: the western
  classrooms and their students attend eastern lessons); with a token for every lesson
  (``"*"``), a student replays the lessons of the courses they are enrolled in and the lessons
  they or their classroom attended, and a classroom the lessons it attended and those of its
  own school (its ``Reach``, read from the directory and the presence events).

Adding a chapter is for the lesson's own teacher; deleting a recording is for the admins of
its school.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace
from typing import Any

from classroom.access import Claims, covers_lesson
from classroom.errors import Conflict, ValidationError
from classroom.principal import Principal
from classroom.roles import Role

__all__ = [
    "MAX_CHAPTERS",
    "MAX_CHAPTER_TITLE_CHARS",
    "Chapter",
    "Recording",
    "RecordingStatus",
    "Track",
    "can_add_chapter",
    "can_delete",
    "can_replay",
    "Reach",
    "new_chapter",
    "with_chapter",
]

MAX_CHAPTERS = 500
MAX_CHAPTER_TITLE_CHARS = 200


class RecordingStatus(str, enum.Enum):
    """Where a recording is in its life; every status but RECORDING is final."""

    RECORDING = "recording"
    COMPLETE = "complete"
    INTERRUPTED = "interrupted"  # the server stopped (crash, kill) while it was recording
    STOPPED_DISK_LOW = "stopped_disk_low"  # the recorder stopped itself to protect the disk

    @property
    def is_final(self) -> bool:
        return self is not RecordingStatus.RECORDING


@dataclass(frozen=True)
class Track:
    """One recorded stream. ``file`` is relative to the recordings directory (never sent to clients)."""

    name: str  # the feed, e.g. "teacher/camera"
    kind: str  # "video" | "audio"
    codec: str  # e.g. "vp8", "opus"
    file: str
    width: int | None = None
    height: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "codec": self.codec, "width": self.width, "height": self.height}


@dataclass(frozen=True)
class Chapter:
    """A named position in the recording, ``at_s`` seconds on the media clock."""

    at_s: float
    title: str
    by: str

    def to_json(self) -> dict[str, Any]:
        return {"at_s": self.at_s, "title": self.title, "by": self.by}


@dataclass(frozen=True)
class Recording:
    """The recording of one lesson (a lesson interrupted and resumed has several)."""

    id: str
    lesson_id: str
    school: str
    course: str | None
    title: str
    started_at: float
    ended_at: float | None
    status: RecordingStatus
    tracks: tuple[Track, ...] = ()
    chapters: tuple[Chapter, ...] = ()

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to end; None while recording or when the end is unknown."""
        return None if self.ended_at is None else max(0.0, self.ended_at - self.started_at)

    def track(self, name: str) -> Track | None:
        return next((track for track in self.tracks if track.name == name), None)

    def download_track(self) -> Track | None:
        """The file a whole-recording download serves: the teacher's video, else any teacher track, else the first."""
        teacher = [track for track in self.tracks if track.name.startswith("teacher")]
        video = [track for track in teacher if track.kind == "video"]
        return next(iter(video or teacher or self.tracks), None)

    def to_json(self) -> dict[str, Any]:
        """The metadata clients see (track files stay on the server)."""
        return {
            "id": self.id,
            "lesson_id": self.lesson_id,
            "school": self.school,
            "course": self.course,
            "title": self.title,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_s": self.duration_s,
            "status": self.status.value,
            "tracks": [track.to_json() for track in self.tracks],
            "chapters": [chapter.to_json() for chapter in self.chapters],
        }


@dataclass(frozen=True)
class Reach:
    """What a student or classroom took part in: enrolled courses and attended lessons."""

    courses: frozenset[str] = frozenset()
    lessons: frozenset[str] = frozenset()


def can_replay(claims: Claims, recording: Recording, reach: Reach = Reach()) -> bool:
    """Who may list, watch and read the timeline of a recording (see the module docstring)."""
    if not covers_lesson(claims, recording.lesson_id):
        return False
    if claims.role in (Role.TEACHER, Role.ADMIN):
        return claims.school == recording.school
    if claims.lesson == recording.lesson_id:
        return claims.role in (Role.STUDENT, Role.CLASSROOM)
    attended = recording.lesson_id in reach.lessons
    if claims.role is Role.STUDENT:
        return attended or (recording.course is not None and recording.course in reach.courses)
    if claims.role is Role.CLASSROOM:
        return attended or claims.school == recording.school
    return False


def can_add_chapter(claims: Claims, recording: Recording, lesson_teacher: str | None) -> bool:
    """Only the lesson's own teacher (of the recording's school) adds chapters."""
    return (
        lesson_teacher is not None
        and claims.principal == Principal(recording.school, Role.TEACHER, lesson_teacher)
        and covers_lesson(claims, recording.lesson_id)
    )


def can_delete(claims: Claims, recording: Recording) -> bool:
    """Only admins of the recording's school delete it."""
    return (
        claims.role is Role.ADMIN
        and claims.school == recording.school
        and covers_lesson(claims, recording.lesson_id)
    )


def new_chapter(at_s: object, title: object, by: str, duration_s: float | None) -> Chapter:
    """A validated chapter; raises ValidationError naming the bad field."""
    if isinstance(at_s, bool) or not isinstance(at_s, int | float) or not math.isfinite(at_s):
        raise ValidationError("at_s must be a number of seconds")
    if at_s < 0:
        raise ValidationError("at_s must not be negative")
    if duration_s is not None and at_s > duration_s:
        raise ValidationError(f"at_s must be at most the recording's duration ({duration_s:.3f} s)")
    if not isinstance(title, str) or not title.strip():
        raise ValidationError("title must be a non-empty string")
    text = title.strip()
    if len(text) > MAX_CHAPTER_TITLE_CHARS:
        raise ValidationError(f"title must be at most {MAX_CHAPTER_TITLE_CHARS} characters")
    return Chapter(at_s=float(at_s), title=text, by=by)


def with_chapter(recording: Recording, chapter: Chapter) -> Recording:
    """The recording with ``chapter`` added, chapters kept in media order; Conflict when full."""
    if len(recording.chapters) >= MAX_CHAPTERS:
        raise Conflict(f"recording {recording.id} already has {MAX_CHAPTERS} chapters")
    chapters = sorted((*recording.chapters, chapter), key=lambda c: c.at_s)
    return replace(recording, chapters=tuple(chapters))
