"""Recording and replay benchmarks. The last line printed is one JSON object.

State at time t (this part): synthesize a 2-hour lesson's training log into a temporary SQLite
file -- the shipped mould/machining line replicated into 7 cells (49 stations), a snapshot every
30 s and ~10 patch batches per second of realistic ops (cycles completing, counters, buffers,
PackML transitions, parameter changes, alarms) -- beside a second lesson logged at the same
time and the lesson's chat, then time random ``state_at`` calls through
``server.replay.timeline.LessonTimeline`` (a fresh connection: nothing cached), checking a
sample of them against the state the generator held at that instant. Budget: p99 <= 50 ms.

Recording CPU (``record_cpu_fraction_per_stream``): 30 s of 720p VP8 at ~1.5 Mbit/s, then 30 s of
Opus, each paced in real time through the real recorder pipeline (router feed, FeedTap, depacketizer,
media clock, WebM writer thread, seekable remux); process CPU per second of media. Budget: <= 0.03
of a core per video stream. Each file is opened with PyAV and checked (frames, duration, decodes).

    python bench/recording.py [--quick] [--seconds 7200] [--rate 10] [--calls 200] [--record-seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))  # relay_media: the pre-encoded 720p clip

from state_sync import bench_line  # noqa: E402  (the same 49-station line as the fan-out bench)

from classroom.training.packml import Status  # noqa: E402
from classroom.training.scenario import Scenario, parse_scenario  # noqa: E402
from classroom.training.state import initial_state  # noqa: E402
from server.edge.database import SqliteDatabase  # noqa: E402
from server.replay.timeline import LessonTimeline, lesson_event  # noqa: E402
from server.training.event_log import TRAINING_SCHEMA, Event, SqlEventLog  # noqa: E402

SNAPSHOT_EVERY_S = 30.0
STARTED_AT = 1_725_000_000.0
TARGETS = {"state_at_t_ms_p99": 50, "record_cpu_fraction_per_stream": 0.03}


def nested(values: dict[str, Any]) -> dict[str, Any]:
    """The document a flat state describes (classroom.training.state.LineState.document)."""
    root: dict[str, Any] = {}
    for path, value in values.items():
        node = root
        *parents, leaf = path[1:].split("/")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return root


class Line:
    """A plausible running line: produces the changes the simulation and the classrooms would."""

    def __init__(self, scenario: Scenario, rng: random.Random) -> None:
        self.scenario = scenario
        self.rng = rng
        self.values: dict[str, Any] = dict(initial_state(scenario).values)
        self.revision = 0
        self.stations = list(scenario.stations.values())
        self.links = list(scenario.links)
        for station in self.stations:
            self.values[f"/stations/{station.id}/status"] = Status.EXECUTE.value

    def _set(self, changes: dict[str, Any], path: str, value: Any) -> None:
        self.values[path] = value
        changes[path] = value

    def step(self, now: float) -> dict[str, Any]:
        """The changes of one batch (latest value per path), one or more revisions."""
        changes: dict[str, Any] = {}
        for _ in range(self.rng.choice((1, 1, 2, 2, 3, 4))):
            self.revision += 1
            station = self.rng.choice(self.stations)
            base = f"/stations/{station.id}"
            roll = self.rng.random()
            if roll < 0.55:  # a cycle completes: counters, cycle start, the buffers around it
                produced = self.values[f"{base}/counters/produced"] + 1
                self._set(changes, f"{base}/counters/produced", produced)
                good = self.rng.random() >= station.scrap_rate
                counter = f"{base}/counters/{'good' if good else 'scrap'}"
                self._set(changes, counter, self.values[counter] + 1)
                self._set(changes, f"{base}/cycle_started", round(now, 1))
                for link in self.links:
                    if link.source == station.id or link.target == station.id:
                        path = f"/buffers/{link.id}"
                        delta = 1 if link.source == station.id else -1
                        self._set(changes, path, max(0, min(link.capacity, self.values[path] + delta)))
            elif roll < 0.80:  # a PackML transition
                status = self.rng.choice((Status.EXECUTE, Status.HELD, Status.SUSPENDED, Status.STARTING,
                                          Status.STOPPED, Status.IDLE))
                self._set(changes, f"{base}/status", status.value)
                self._set(changes, f"{base}/since", round(now, 1))
            elif roll < 0.95:  # a classroom turns a knob
                name, parameter = self.rng.choice(list(station.parameters.items()))
                if parameter.type == "bool":
                    value: Any = not self.values[f"{base}/parameters/{name}"]
                else:
                    value = round(self.rng.uniform(parameter.min, parameter.max), 2)
                self._set(changes, f"{base}/parameters/{name}", value)
            elif station.alarms:  # an alarm raised or acknowledged
                code = self.rng.choice(list(station.alarms))
                active = not self.values[f"{base}/alarms/{code}/active"]
                self._set(changes, f"{base}/alarms/{code}/active", active)
                self._set(changes, f"{base}/alarms/{code}/acknowledged", not active)
                if active:
                    self._set(changes, f"{base}/status", Status.ABORTED.value)
                    self._set(changes, f"{base}/since", round(now, 1))
        return changes


def synthesize_lesson(lesson_id: str, scenario: Scenario, seconds: float, rate: float, seed: int,
                      checkpoints: list[float]) -> tuple[list[Event], dict[float, tuple[int, dict[str, Any]]]]:
    """The lesson's log (in time order) and the true (revision, document) at each checkpoint."""
    rng = random.Random(seed)
    line = Line(scenario, rng)
    events: list[Event] = []
    truth: dict[float, tuple[int, dict[str, Any]]] = {}
    pending = sorted(checkpoints)
    dt = 1.0 / rate
    steps = int(seconds * rate)
    next_snapshot = 0.0
    for step in range(steps + 1):
        t = step * dt
        at = STARTED_AT + t
        while pending and pending[0] < t:
            truth[pending.pop(0)] = (line.revision, nested(line.values))
        if t >= next_snapshot:
            events.append(Event(lesson_id, at, "snapshot", line.revision,
                                {"time": t, "state": nested(line.values), "scenario": scenario.id, "rng": step}))
            next_snapshot += SNAPSHOT_EVERY_S
        first = line.revision + 1
        changes = line.step(t)
        ops = [{"op": "replace", "path": path, "value": value} for path, value in changes.items()]
        events.append(Event(lesson_id, at, "patch", line.revision,
                            {"from": first, "to": line.revision, "time": t, "ops": ops}))
        if rng.random() < 0.02:  # the lesson around the line: chat, mostly
            events.append(lesson_event(lesson_id, "chat", {"from": {"subject": "nujiang-1"}, "text": "ok " * 8},
                                       at=at + 0.002))
    for checkpoint in pending:
        truth[checkpoint] = (line.revision, nested(line.values))
    return events, truth


async def state_at_bench(seconds: float, rate: float, calls: int, seed: int) -> dict[str, Any]:
    scenario = parse_scenario(bench_line())
    rng = random.Random(seed)
    checkpoints = [rng.uniform(0, seconds) for _ in range(20)]
    build = time.perf_counter()
    events, truth = synthesize_lesson("L1", scenario, seconds, rate, seed, checkpoints)
    neighbour, _ = synthesize_lesson("L2", scenario, seconds, rate, seed + 1, [])  # another lesson, same hours
    with tempfile.TemporaryDirectory(prefix="bench-recording-") as tmp:
        path = Path(tmp) / "training.db"
        log = SqlEventLog(SqliteDatabase(path, TRAINING_SCHEMA, name="bench-write"))
        await log.open()
        merged = sorted(events + neighbour, key=lambda e: e.at)
        for start in range(0, len(merged), 5000):
            await log.append(merged[start:start + 5000])
        await log.close()
        build_s = time.perf_counter() - build
        db_mb = path.stat().st_size / 1e6

        db = SqliteDatabase(path, TRAINING_SCHEMA, name="bench-read")  # fresh connections: nothing cached
        await db.open()
        timeline = LessonTimeline(db)
        try:
            wrong = 0
            for t, expected in truth.items():
                if await timeline.state_at("L1", STARTED_AT + t) != expected:
                    wrong += 1
            durations = []
            for t in (rng.uniform(0, seconds) for _ in range(calls)):
                started = time.perf_counter()
                found = await timeline.state_at("L1", STARTED_AT + t)
                durations.append((time.perf_counter() - started) * 1000)
                assert found is not None
        finally:
            await db.close()
    durations.sort()
    patches = sum(e.kind == "patch" for e in events)
    return {
        "state_at_t_ms_p50": round(statistics.median(durations), 2),
        "state_at_t_ms_p99": round(durations[min(len(durations) - 1, int(len(durations) * 0.99))], 2),
        "state_at_t_ms_max": round(durations[-1], 2),
        "state_at_calls": calls,
        "state_at_wrong": wrong,
        "lesson_s": seconds,
        "stations": len(scenario.stations),
        "patches": patches,
        "ops_per_patch": round(sum(len(e.body["ops"]) for e in events if e.kind == "patch") / max(1, patches), 2),
        "snapshots": sum(e.kind == "snapshot" for e in events),
        "snapshot_kb": round(len(json.dumps(events[0].body)) / 1000, 1),
        "db_rows": len(events) + len(neighbour),
        "db_mb": round(db_mb, 1),
        "build_s": round(build_s, 1),
    }


class _ClipProducer:
    """Stands in for a publisher's Producer: the feed and the tap only ask these of it."""

    last_sender_report = None

    def __init__(self, kind: str, mime_type: str, clock_rate: int) -> None:
        self.id, self.kind, self.mime_type, self.clock_rate = f"clip-{kind}", kind, mime_type, clock_rate
        self.sink: Any = None

    def attach(self, sink: Any) -> None:
        self.sink = sink

    def on_close(self, callback: Any) -> None:
        pass

    def request_keyframe(self) -> None:
        pass


# (seconds into the stream, [(seq, ts, marker, payload, keyframe)]): what arrives at that instant
Schedule = list[tuple[float, list[tuple[int, int, int, bytes, bool]]]]


def _video_schedule(clip: list[tuple[bytes, bool]], seconds: float) -> Schedule:
    """The clip (looped; it starts on a keyframe) as a WebRTC VP8 sender puts it on the wire:
    aiortc's packetizer (RFC 7741 descriptor with a 15-bit picture id, <= 1300-byte packets),
    90 kHz timestamps, the marker on each frame's last packet."""
    from aiortc.codecs.vpx import Vp8Encoder

    from media.codecs import vp8_starts_keyframe

    schedule: Schedule = []
    seq = 0
    for index in range(int(seconds * 30)):
        payloads = Vp8Encoder._packetize(clip[index % len(clip)][0], index & 0x7FFF)
        packets = []
        for n, payload in enumerate(payloads):
            packets.append((seq & 0xFFFF, (index * 3000) & 0xFFFFFFFF, int(n == len(payloads) - 1), payload,
                            vp8_starts_keyframe(payload)))
            seq += 1
        schedule.append((index / 30, packets))
    return schedule


def _audio_schedule(clip: list[bytes], seconds: float) -> Schedule:
    """20 ms Opus packets, one per RTP packet, 48 kHz timestamps (RFC 7587)."""
    return [(index / 50, [(index & 0xFFFF, (index * 960) & 0xFFFFFFFF, 0, clip[index % len(clip)], True)])
            for index in range(int(seconds * 50))]


async def _drive(producer: _ClipProducer, schedule: Schedule) -> None:
    """Hand each packet to the producer's sink (the feed) at its instant, as the transport would."""
    from media.rtp import ForwardedPacket

    wall0 = time.monotonic()
    for at, packets in schedule:
        delay = wall0 + at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.monotonic()
        for seq, ts, marker, payload, keyframe in packets:
            producer.sink(producer, ForwardedPacket(seq, ts, marker, payload, keyframe, now))
    await asyncio.sleep(max(0.0, wall0 + schedule[-1][0] + 0.02 - time.monotonic()))  # the last frame's slot


async def _harness_cpu(schedule: Schedule) -> float:
    """Process CPU of the pacing alone (no router, no recorder): the bench's own share of a figure."""
    producer = _ClipProducer("clip", "none", 1)
    producer.attach(lambda producer, packet: None)
    cpu0 = time.process_time()
    await _drive(producer, schedule)
    return time.process_time() - cpu0


async def _record(kind: str, mime_type: str, clock_rate: int, schedule: Schedule,
                  directory: Path) -> tuple[float, float, Path]:
    """Feed ``schedule`` in real time through a router feed into a LessonRecorder recording that
    one feed; returns (process CPU s, main-thread CPU s, file), the CPU from the first packet to
    the finished file (trailer and copy-only seekable remux included)."""
    import gc

    from aiortc import RTCConfiguration

    from media import Router
    from recordings import LessonRecorder

    key = "teacher/camera" if kind == "video" else "teacher/mic"
    router = Router("bench", RTCConfiguration())
    producer = _ClipProducer(kind, mime_type, clock_rate)
    router.attach_producer(key, producer)  # type: ignore[arg-type]
    recorder = LessonRecorder(router, directory, feeds=(key,), min_free_bytes=0)
    gc.collect()
    cpu0, main0 = time.process_time(), time.thread_time()
    await _drive(producer, schedule)
    await recorder.close()
    cpu, main = time.process_time() - cpu0, time.thread_time() - main0
    await router.close()
    files = sorted(directory.glob("teacher*"))
    assert len(files) == 1, f"expected one recording, found {files}"
    return cpu, main, files[0]


def _check_file(path: Path, kind: str, frames: int, media_s: float) -> tuple[str, float]:
    """Open the recording with PyAV: one stream of the right codec, every frame in it, the right
    duration, and (video) the first GOP decodes at 1280x720. Returns (description, duration s)."""
    import av

    with av.open(str(path)) as container:
        duration = container.duration / 1e6 if container.duration else 0.0
        streams = container.streams.video if kind == "video" else container.streams.audio
        assert len(container.streams) == 1 and len(streams) == 1, f"{path.name}: streams {list(container.streams)}"
        stream: Any = streams[0]
        packets = [p for p in container.demux(stream) if p.size]
    problems = []
    if len(packets) != frames:
        problems.append(f"{len(packets)} frames in the file, {frames} sent")
    if abs(duration - media_s) > 0.1:
        problems.append(f"duration {duration:.2f} s, {media_s:.2f} s sent")
    if kind == "video":
        keys = sum(p.is_keyframe for p in packets)
        decoded = []
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                decoded.append((frame.width, frame.height))
                if len(decoded) == 60:
                    break
        if len(decoded) < 60 or set(decoded) != {(1280, 720)}:
            problems.append(f"decoded {len(decoded)} frames of sizes {set(decoded)}")
        what = f"{stream.codec_context.name} {stream.width}x{stream.height}, {len(packets)} frames, {keys} keyframes"
    else:
        what = f"{stream.codec_context.name} {stream.sample_rate} Hz, {len(packets)} packets"
    if problems:
        raise AssertionError(f"{path.name}: " + "; ".join(problems))
    return f"{what}, {path.stat().st_size / 1e6:.1f} MB", duration


def record_cpu_fraction_per_stream(seconds: float = 30.0, extra: dict[str, Any] | None = None) -> float | None:
    """CPU of one core spent recording one 720p VP8 stream (budget <= 0.03, no transcoding).

    The real pipeline: a router feed, a LessonRecorder's FeedTap, the VP8 depacketizer, the
    media clock and the WebM writer thread (then the copy-only seekable remux at close), fed
    the relay bench's pre-encoded 1280x720 30 fps clip (~1.5 Mbit/s, keyframe every 2 s)
    packetized by aiortc's VP8 packetizer, paced in real time. Process CPU, so the writer
    thread counts. Packetizing happens before the clock starts: it is the sender's work. The
    figure includes the bench's pacing loop (waking per frame); that share is measured on its own
    (a shorter run with no recorder) and printed beside it, not subtracted.

    With ``extra``, one Opus stream (the relay clip's 64 kbit/s 20 ms packets) is then recorded
    the same way and its figures are added to ``extra``. Returns the VP8 figure, or None if a
    recording came out wrong.
    """
    import tempfile

    from relay_media import FPS, load_media

    media = load_media()
    runs = [("video", "video/vp8", 90000, _video_schedule(media["video"], seconds))]
    if extra is not None:
        runs.append(("audio", "audio/opus", 48000, _audio_schedule(media["audio"], seconds)))
    figures: dict[str, float] = {}
    for kind, mime, rate, schedule in runs:
        packets = sum(len(p) for _, p in schedule)
        payload_bytes = sum(len(p[3]) for _, ps in schedule for p in ps)
        media_s = schedule[-1][0] + (1 / FPS if kind == "video" else 0.02)
        with tempfile.TemporaryDirectory(prefix="record-bench-") as tmp:
            cpu, main, path = asyncio.run(_record(kind, mime, rate, schedule, Path(tmp)))
            try:
                what, duration = _check_file(path, kind, len(schedule), media_s)
            except AssertionError as error:
                print(f"recording: {mime} came out wrong: {error}")
                return None
        baseline_s = min(media_s, 10.0)  # the pacing's cost per media second, from a shorter run
        harness = asyncio.run(_harness_cpu([e for e in schedule if e[0] < baseline_s])) / baseline_s
        fraction = cpu / media_s
        figures[kind] = fraction
        print(f"recording {mime}: {media_s:.0f} s at {payload_bytes * 8 / media_s / 1e6:.2f} Mbit/s "
              f"({packets / media_s:.0f} packets/s) cost {cpu:.3f} CPU s ({main:.3f} on the event loop, "
              f"{cpu - main:.3f} in the writer and remux threads) -> {fraction:.4f} of a core per stream "
              f"(of which the bench's own pacing {harness:.4f}); file: {what}, {duration:.2f} s")
        if extra is not None:
            suffix = "" if kind == "video" else "_opus"
            extra[f"record_cpu_fraction_per_stream{suffix}"] = round(fraction, 4)
            extra[f"record_media_s{suffix}"] = round(media_s, 2)
            extra[f"record_harness_cpu_fraction{suffix}"] = round(harness, 4)
    return round(figures["video"], 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a 10-minute lesson and 50 calls")
    parser.add_argument("--seconds", type=float, default=7200.0, help="lesson length (default 2 hours)")
    parser.add_argument("--rate", type=float, default=10.0, help="patch batches per second (default 10)")
    parser.add_argument("--calls", type=int, default=200, help="random state_at calls timed")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--record-seconds", type=float, default=30.0,
                        help="media recorded per stream for the recorder CPU figure (default 30)")
    args = parser.parse_args()
    seconds, calls = (600.0, 50) if args.quick else (args.seconds, args.calls)

    result = asyncio.run(state_at_bench(seconds, args.rate, calls, args.seed))
    print(f"state_at over a {seconds / 3600:.2f} h lesson: {result['stations']} stations, {result['patches']} patches "
          f"({result['ops_per_patch']} ops each), {result['snapshots']} snapshots of {result['snapshot_kb']} kB, "
          f"{result['db_rows']} rows / {result['db_mb']} MB in the log (built in {result['build_s']} s)")
    print(f"state_at: p50 {result['state_at_t_ms_p50']} ms, p99 {result['state_at_t_ms_p99']} ms, "
          f"max {result['state_at_t_ms_max']} ms over {calls} calls; wrong states: {result['state_at_wrong']}")
    result["record_cpu_fraction_per_stream"] = record_cpu_fraction_per_stream(args.record_seconds, extra=result)
    result["targets"] = TARGETS
    cpu = result["record_cpu_fraction_per_stream"]
    result["pass"] = (result["state_at_t_ms_p99"] <= TARGETS["state_at_t_ms_p99"] and result["state_at_wrong"] == 0
                      and cpu is not None and cpu <= TARGETS["record_cpu_fraction_per_stream"])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
