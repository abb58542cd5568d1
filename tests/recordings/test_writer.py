"""MediaWriter: encoded frames into WebM/Matroska on its own thread, without transcoding."""

from __future__ import annotations

import threading
from pathlib import Path

import av
import pytest

from recordings.clock import MediaClock
from recordings.finalize import make_seekable
from recordings.writer import MediaWriter
from tests.recordings.encoded import encode_h264, encode_opus, encode_vp8

pytestmark = pytest.mark.timeout(60)


def recorder_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("recorder-")]


def test_vp8_and_opus_are_muxed_into_webm_as_they_were_encoded(tmp_path: Path) -> None:
    video, audio = encode_vp8(count=30), encode_opus(50)
    writer = MediaWriter(tmp_path / "lesson", ["video", "audio"])
    for i, payload in enumerate(audio):  # audio arrives first: the header waits for the video keyframe
        assert writer.write(1, "opus", i * 20, True, payload)
        if i % 5 == 0 and i // 5 * 2 < len(video):
            for k in (i // 5 * 2, i // 5 * 2 + 1):
                data, key = video[k]
                assert writer.write(0, "vp8", k * 33, key, data)
    writer.close()

    assert writer.path == tmp_path / "lesson.webm" and not writer.failed
    assert [(t.codec, t.width, t.height) for t in writer.tracks] == [("vp8", 320, 240), ("opus", None, None)]
    with av.open(str(writer.path)) as container:
        assert container.format.name.startswith("matroska")  # "matroska,webm" demuxer
        vs, aus = container.streams.video[0], container.streams.audio[0]
        assert (vs.codec_context.name, vs.width, vs.height) == ("vp8", 320, 240)
        assert aus.codec_context.name == "opus"
        video_packets = [bytes(p) for p in container.demux(video=0) if p.size]
    assert video_packets == [data for data, _ in video[:len(video_packets)]]  # not transcoded
    assert len(video_packets) == 20
    assert not recorder_threads()


def test_video_before_its_first_keyframe_and_late_frames_are_not_written(tmp_path: Path) -> None:
    video = encode_vp8(count=12)
    writer = MediaWriter(tmp_path / "cam", ["video"])
    assert not writer.write(0, "vp8", 0, False, video[1][0])
    assert writer.write(0, "vp8", 100, True, video[0][0])
    assert writer.write(0, "vp8", 133, False, video[1][0])
    assert writer.write(0, "vp8", 120, False, video[2][0])  # 13 ms late: clamped
    assert writer.write(0, "vp8", 10, False, video[3][0])  # far in the past: dropped
    assert not writer.write(0, "h264", 200, True, b"\x00\x00\x00\x01\x65")  # one track, one codec
    writer.close()

    with av.open(str(writer.path)) as container:
        dts = [p.dts for p in container.demux() if p.size]
    assert dts == [100, 133, 133]


def test_h264_goes_into_matroska_and_decodes(tmp_path: Path) -> None:
    video = encode_h264(count=12)
    writer = MediaWriter(tmp_path / "stage", ["video"])
    for i, (data, key) in enumerate(video):
        writer.write(0, "h264", i * 33, key, data)
    writer.close()

    assert writer.path == tmp_path / "stage.mkv"
    assert (writer.tracks[0].width, writer.tracks[0].height) == (320, 240)
    with av.open(str(writer.path)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 12 and frames[0].width == 320


def test_a_failing_container_stops_the_writer_without_raising(tmp_path: Path) -> None:
    writer = MediaWriter(tmp_path / "missing-dir" / "x", ["audio"])
    for i, payload in enumerate(encode_opus(3)):
        writer.write(0, "opus", i * 20, True, payload)
    writer.close()  # the thread failed to open the file: logged, not raised

    assert writer.failed and not writer.alive
    assert not writer.write(0, "opus", 100, True, b"\xfc")


def test_media_clock_places_each_track_by_its_first_arrival_then_by_rtp_time() -> None:
    clock = MediaClock()
    assert clock.ms(0, 1000, 48000, arrival=10.0) == 0
    assert clock.ms(1, 4_294_967_000, 90000, arrival=10.25) == 250
    assert clock.ms(0, 1000 + 48000, 48000, arrival=11.9) == 1000  # RTP time, not the jittery arrival
    assert clock.ms(1, 4_294_967_000 + 90000 - (1 << 32), 90000, arrival=11.0) == 1250  # across the wrap


def test_a_finished_recording_is_remuxed_with_a_seek_index_and_duration_without_transcoding(tmp_path: Path) -> None:
    video, audio = encode_vp8(count=60, gop=15), encode_opus(100)
    writer = MediaWriter(tmp_path / "lesson", ["video", "audio"])
    for i in range(60):
        data, key = video[i]
        writer.write(0, "vp8", i * 33, key, data)
        for j in range(i * 100 // 60, (i + 1) * 100 // 60):
            writer.write(1, "opus", j * 20, True, audio[j])
    writer.close()
    assert writer.path is not None
    with av.open(str(writer.path)) as live:
        assert live.duration is None  # live form: crash-safe, but no index
        before = [bytes(p) for p in live.demux(video=0) if p.size]

    assert make_seekable(writer.path)

    with av.open(str(writer.path)) as finished:
        assert finished.duration is not None and abs(finished.duration / 1e6 - 1.98) < 0.1
        after = [bytes(p) for p in finished.demux(video=0) if p.size]
    assert after == before  # the same encoded frames: copied, not transcoded
    with av.open(str(writer.path)) as finished:
        finished.seek(1_000_000)  # a seek by index lands on a keyframe before 1 s
        frame = next(finished.decode(video=0))
        assert frame.time is not None and frame.time <= 1.0
    assert not list(tmp_path.glob("*.seekable.*"))


def test_a_file_that_cannot_be_remuxed_stays_as_it_was(tmp_path: Path) -> None:
    broken = tmp_path / "broken.webm"
    broken.write_bytes(b"not a webm file")
    assert not make_seekable(broken)
    assert broken.read_bytes() == b"not a webm file"
