"""Seeding recordings, lessons and media files into a running app for the replay tests."""

from __future__ import annotations

import random
from pathlib import Path

from starlette.applications import Starlette

from classroom.lessons import new_lesson
from classroom.recordings import Recording, RecordingStatus, Track
from server.edge.app import RECORDINGS_DIR

STARTED_AT = 1_725_000_000.0  # 2024-08-30T06:40:00Z
DURATION_S = 3600.0
MEDIA_BYTES = 300_000  # several of FileResponse's 64 KiB chunks


def media_root(app: Starlette) -> Path:
    root: Path = app.state.settings.data_dir / RECORDINGS_DIR
    return root


def write_media(app: Starlette, relative: str, size: int = MEDIA_BYTES, seed: int = 1) -> bytes:
    """A file of ``size`` deterministic pseudo-random bytes under the recordings directory."""
    data = random.Random(seed).randbytes(size)
    path = media_root(app) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def recording(
    recording_id: str = "R1",
    lesson_id: str = "L1",
    *,
    school: str = "east",
    course: str | None = "mould",
    started_at: float = STARTED_AT,
    ended_at: float | None = STARTED_AT + DURATION_S,
    status: RecordingStatus = RecordingStatus.COMPLETE,
    tracks: tuple[Track, ...] | None = None,
) -> Recording:
    if tracks is None:
        tracks = (
            Track("teacher/camera", "video", "vp8", f"{recording_id}/teacher-camera.webm", 1280, 720),
            Track("teacher/mic", "audio", "opus", f"{recording_id}/teacher-mic.webm"),
        )
    return Recording(recording_id, lesson_id, school, course, f"Insert moulding {recording_id}", started_at,
                     ended_at, status, tracks, ())


async def seed(app: Starlette, rec: Recording | None = None, *, teacher: str = "alice",
               with_media: bool = True) -> tuple[Recording, dict[str, bytes]]:
    """Store the recording (and its lesson, taught by ``teacher``) and write its media files."""
    rec = rec or recording()
    lessons = await app.state.store.list()
    if rec.lesson_id not in {lesson.id for lesson in lessons}:
        await app.state.store.create(new_lesson(rec.lesson_id, "Insert moulding", rec.school, teacher, rec.course,
                                                True, rec.started_at - 60))
    await app.state.recordings.create(rec)
    files = {}
    if with_media:
        for index, track in enumerate(rec.tracks):
            files[track.name] = write_media(app, track.file, seed=index + 1)
    return rec, files
