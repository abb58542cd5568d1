"""The recorder is just another consumer: real aiortc publishers over loopback, files opened with PyAV."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import av
import pytest
from aiortc import RTCSessionDescription

from media import FeedTap
from recordings import LessonRecorder
from tests.recordings.live import LiveLesson
from tests.support.peers import Subscriber
from tests.support.wait import wait_for

pytestmark = pytest.mark.timeout(90)

CAMERA, MIC = "teacher/camera", "teacher/mic"


@pytest.fixture
async def lesson() -> AsyncIterator[LiveLesson]:
    live = LiveLesson()
    yield live
    await live.close()


def recorder_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("recorder-")]


def teacher_writer(recorder: LessonRecorder) -> Any:
    return recorder._recordings[0].writer


def read(path: Path) -> dict[str, list[int]]:
    """Per stream type, the pts (ms) of every decoded frame."""
    out: dict[str, list[int]] = {"video": [], "audio": []}
    with av.open(str(path)) as container:
        for frame in container.decode(*container.streams):
            kind = "video" if isinstance(frame, av.VideoFrame) else "audio"
            assert frame.pts is not None and frame.time_base is not None
            out[kind].append(int(frame.pts * frame.time_base * 1000))
    return out


def largest_gap(values: list[int]) -> int:
    return max(b - a for a, b in zip(values, values[1:], strict=False))


async def test_a_recorded_lesson_has_both_streams_the_right_duration_and_aligned_starts(
        tmp_path: Path, lesson: LiveLesson) -> None:
    tasks_before = asyncio.all_tasks()
    recorder = LessonRecorder(lesson.router, tmp_path)
    await lesson.publish()
    writer = teacher_writer(recorder)
    await wait_for(lambda: writer.duration_ms >= 3000, 30)
    origin = recorder._recordings[0].clock.origin
    assert origin is not None

    closed_at = time.monotonic()
    await recorder.close()
    await recorder.close()  # idempotent

    path = tmp_path / "teacher.webm"
    assert writer.path == path and not writer.failed
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.name, video.width, video.height) == ("vp8", 320, 240)
        assert audio.codec_context.name == "opus"
        # a live-written file carries no Duration element: take the end of its last packet
        duration_s = max((p.pts + (p.duration or 0)) * p.time_base for p in container.demux() if p.pts is not None)
    assert abs(duration_s - (closed_at - origin)) <= 0.5
    frames = read(path)
    assert len(frames["video"]) >= 60 and len(frames["audio"]) >= 100
    assert abs(frames["video"][0] - frames["audio"][0]) <= 100
    assert all(b >= a for kind in frames for a, b in zip(frames[kind], frames[kind][1:], strict=False))
    tracks = {(t.file, t.feed, t.kind, t.codec, t.width, t.height) for t in recorder.tracks}
    assert tracks == {("teacher.webm", CAMERA, "video", "vp8", 320, 240),
                      ("teacher.webm", MIC, "audio", "opus", None, None)}
    assert recorder.duration_s >= 3.0 and recorder.started_at <= time.time()
    assert not any(isinstance(c, FeedTap) for feed in lesson.router.feeds.values() for c in feed.consumers)
    assert not recorder_threads()
    assert not [t.name for t in threading.enumerate() if t.name.endswith("-decoder")]  # nothing decoded here
    await lesson.close()
    own = asyncio.current_task()
    await wait_for(lambda: not {t for t in asyncio.all_tasks() - tasks_before if t is not own and not t.done()}, 10)


async def test_a_teacher_who_reconnects_stays_in_one_file_on_one_continuous_timeline(
        tmp_path: Path, lesson: LiveLesson) -> None:
    recorder = LessonRecorder(lesson.router, tmp_path)
    first = await lesson.publish()
    writer = teacher_writer(recorder)
    await wait_for(lambda: writer.duration_ms >= 1500, 30)

    reconnect_started = time.monotonic()
    await first.close()
    second = await lesson.publish()
    await wait_for(lambda: second.pc.connectionState == "connected", 15)
    reconnect_s = time.monotonic() - reconnect_started
    before = writer.duration_ms
    await wait_for(lambda: writer.duration_ms >= before + 1500, 30)
    await recorder.close()

    assert sorted(p.name for p in tmp_path.iterdir()) == ["teacher.webm"]
    frames = read(tmp_path / "teacher.webm")
    for kind in ("video", "audio"):
        pts = frames[kind]
        assert all(b >= a for a, b in zip(pts, pts[1:], strict=False)), kind
        assert largest_gap(pts) <= (reconnect_s + 1.0) * 1000, kind
        assert pts[-1] >= before + 1000, kind  # the second publisher is in the file


async def test_low_disk_stops_the_recording_cleanly_and_raises_the_alarm_while_the_lesson_goes_on(
        tmp_path: Path, lesson: LiveLesson) -> None:
    free = {"bytes": 10 * 1024**3}
    alarms: list[tuple[str, str]] = []
    recorder = LessonRecorder(lesson.router, tmp_path, min_free_bytes=1024**3, check_interval=0.05,
                              free_space=lambda directory: free["bytes"],
                              on_alarm=lambda code, message: alarms.append((code, message)))
    await lesson.publish()
    subscriber = Subscriber()
    transport = lesson.router.create_transport("viewer")
    answer = await transport.accept_offer(await subscriber.offer(),
                                          lambda kind, mid: CAMERA if kind == "video" else MIC)
    await subscriber.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    writer = teacher_writer(recorder)
    await wait_for(lambda: writer.duration_ms >= 1000 and subscriber.frames["video"] >= 10, 30)

    free["bytes"] = 100 * 1024**2
    await wait_for(lambda: bool(alarms), 10)

    assert alarms[0][0] == "disk_low" and "below" in alarms[0][1]
    assert recorder.stopped and not writer.alive and not writer.failed and not recorder_threads()
    assert not any(isinstance(c, FeedTap) for feed in lesson.router.feeds.values() for c in feed.consumers)
    assert len(read(tmp_path / "teacher.webm")["video"]) >= 20  # the file was finished, not cut
    seen = subscriber.frames["video"]
    await wait_for(lambda: subscriber.frames["video"] >= seen + 30, 15)  # forwarding goes on
    await recorder.close()
    await subscriber.close()
    assert len(alarms) == 1


async def test_an_on_stage_classroom_is_recorded_into_its_own_file_while_it_is_live(
        tmp_path: Path, lesson: LiveLesson) -> None:
    recorder = LessonRecorder(lesson.router, tmp_path)
    await lesson.publish()
    stage = await lesson.publish("classroom:kunming-3")
    await wait_for(lambda: len(recorder._recordings) == 2, 10)
    stage_writer = recorder._recordings[1].writer
    await wait_for(lambda: stage_writer.duration_ms >= 1500, 30)

    await stage.close()  # the classroom leaves the stage: its file is finished, the teacher's goes on
    await wait_for(lambda: not stage_writer.alive, 10)
    teacher = teacher_writer(recorder)
    assert teacher.alive
    frames = read(tmp_path / "stage-kunming-3.webm")
    assert len(frames["video"]) >= 30 and len(frames["audio"]) >= 50
    assert {t.file for t in recorder.tracks} == {"teacher.webm", "stage-kunming-3.webm"}

    again = await lesson.publish("classroom:kunming-3")  # back on stage: a new file
    await wait_for(lambda: len(recorder._recordings) == 3 and recorder._recordings[2].writer.duration_ms > 500, 30)
    await recorder.close()
    await again.close()
    assert (tmp_path / "stage-kunming-3-2.webm").exists() and not recorder_threads()


async def test_a_recorder_killed_mid_lesson_leaves_a_file_that_plays_up_to_the_kill(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.recordings.record_then_die", str(tmp_path), "3",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).resolve().parents[2])
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)

    assert process.returncode == -9, stderr.decode()[-2000:]
    muxed_ms = int(stdout.decode().split("muxed_ms=")[1].split()[0])
    assert muxed_ms >= 3000
    frames = read(tmp_path / "teacher.webm")
    assert frames["video"] and frames["audio"]
    assert frames["video"][-1] >= muxed_ms - 2000
    assert frames["audio"][-1] >= muxed_ms - 2000
