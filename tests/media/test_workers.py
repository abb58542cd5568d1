"""Media workers (media/workers): subscribers served by worker processes, with real aiortc peers.

The publisher and subscribers are real aiortc peers over loopback; with ``workers=2`` each
consumer moves to a worker process once its transport connects, and the worker rewrites,
protects and sends its packets on the subscriber's own UDP socket.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator

import psutil
import pytest
from aiortc import RTCPeerConnection

from media import Consumer, MediaConfig, MediaEngine, Transport
from media.codecs import is_keyframe_start
from media.workers import WorkerPool
from media.workers.remote import FeedPipe, RemoteConsumer
from tests.media.test_relay_duties import (
    CAMERA,
    Lesson,
    _encode_opus,
    _encode_vp8,
    audio_track,
    name_feed,
    video_track,
)
from tests.support.peers import Subscriber
from tests.support.wait import wait_for

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def vp8_packets() -> list[bytes]:
    return _encode_vp8()


@pytest.fixture(scope="module")
def opus_packets() -> list[bytes]:
    return _encode_opus()


@pytest.fixture
async def lesson() -> AsyncIterator[Lesson]:
    engine = MediaEngine(MediaConfig(workers=2))
    engine.start()
    live = Lesson(engine, engine.router("L"))
    yield live
    await live.close()


def pool_of(lesson: Lesson) -> WorkerPool:
    assert lesson.engine.workers is not None
    return lesson.engine.workers


def consumer_of(transport: Transport, kind: str) -> Consumer:
    return next(c for c in transport.consumers.values() if c.kind == kind)


def remote_of(consumer: Consumer) -> RemoteConsumer:
    assert isinstance(consumer.remote, RemoteConsumer)
    return consumer.remote


async def decoding_subscriber(lesson: Lesson) -> tuple[Subscriber, Transport]:
    subscriber = Subscriber()
    transport = lesson.router.create_transport("decoder")
    answer = await transport.accept_offer(await subscriber.offer(), name_feed)
    await subscriber.accept(answer)
    return subscriber, transport


async def test_subscribers_served_by_workers_decode_the_lessons_video_and_audio(
        lesson: Lesson, vp8_packets: list[bytes], opus_packets: list[bytes]) -> None:
    pool_of(lesson).spread = 0  # every consumer to the least-loaded worker: both workers serve the lesson
    await lesson.publish(audio_track(opus_packets), video_track(vp8_packets))
    peers = [await decoding_subscriber(lesson) for _ in range(2)]
    try:
        consumers = [c for _, t in peers for c in t.consumers.values()]
        await wait_for(lambda: all(c.remote is not None for c in consumers), 20)
        before = [s.frames["video"] for s, _ in peers]
        await wait_for(lambda: all(s.frames["video"] >= b + 20 and s.frames["audio"] >= 20
                                   for (s, _), b in zip(peers, before, strict=True)), 30)

        assert all(s.last_video_size == (320, 240) for s, _ in peers)
        assert {remote_of(c).worker.index for c in consumers} == {0, 1}  # least-loaded placement
        assert all(c.remote is not None and c.packets > 0 for c in consumers)  # counters came back
        pipes = [f for f in lesson.router.feeds[CAMERA].consumers if isinstance(f, FeedPipe)]
        assert len({p.worker.index for p in pipes}) == len(pipes)  # piped once per worker
    finally:
        for subscriber, _ in peers:
            await subscriber.close()


async def test_a_small_lesson_stays_in_one_worker_and_its_feeds_are_piped_there_only(
        lesson: Lesson, vp8_packets: list[bytes], opus_packets: list[bytes]) -> None:
    await lesson.publish(audio_track(opus_packets), video_track(vp8_packets))
    peers = [await lesson.subscribe() for _ in range(3)]
    consumers = [c for _, t in peers for c in t.consumers.values()]
    await wait_for(lambda: all(c.remote is not None for c in consumers)
                   and all(s.count("video") >= 20 for s, _ in peers), 20)

    assert len({remote_of(c).worker.index for c in consumers}) == 1
    for feed in lesson.router.feeds.values():
        assert len([f for f in feed.consumers if isinstance(f, FeedPipe)]) == 1


async def test_a_nack_is_answered_by_the_worker(
        lesson: Lesson, vp8_packets: list[bytes], opus_packets: list[bytes]) -> None:
    await lesson.publish(audio_track(opus_packets), video_track(vp8_packets))
    subscriber, transport = await lesson.subscribe()
    consumer = consumer_of(transport, "video")
    await wait_for(lambda: consumer.remote is not None, 20)
    first = subscriber.count("video")
    await wait_for(lambda: subscriber.count("video") >= first + 20, 20)
    wanted = subscriber.packets["video"][first + 5]  # sent by the worker
    before = consumer.retransmitted

    await subscriber.receivers["video"]._send_rtcp_nack(wanted.ssrc, [wanted.sequence_number])

    await wait_for(lambda: consumer.retransmitted > before, 10)
    assert consumer.nacked >= 1


async def test_pause_stops_the_worker_and_resume_restarts_on_a_keyframe(
        lesson: Lesson, vp8_packets: list[bytes], opus_packets: list[bytes]) -> None:
    await lesson.publish(audio_track(opus_packets), video_track(vp8_packets))
    subscriber, transport = await lesson.subscribe()
    consumer = consumer_of(transport, "video")
    await wait_for(lambda: consumer.remote is not None and subscriber.count("video") >= 20, 20)

    consumer.set_paused(True)
    audio = subscriber.count("audio")
    await wait_for(lambda: subscriber.count("audio") >= audio + 50, 10)  # video already on the way lands
    paused_at, audio = subscriber.count("video"), subscriber.count("audio")
    await wait_for(lambda: subscriber.count("audio") >= audio + 35, 10)  # ~0.7 s of audio: the observation window
    assert subscriber.count("video") == paused_at

    consumer.set_paused(False)
    await wait_for(lambda: subscriber.count("video") > paused_at + 5, 20)
    first = subscriber.packets["video"][paused_at]
    assert is_keyframe_start("video/vp8", first.payload)
    assert first.ssrc == subscriber.packets["video"][0].ssrc


async def test_a_new_producer_on_the_feed_continues_the_stream_across_the_pipe(
        lesson: Lesson, vp8_packets: list[bytes], opus_packets: list[bytes]) -> None:
    await lesson.publish(audio_track(opus_packets), video_track(vp8_packets))
    subscriber, transport = await lesson.subscribe()
    consumer = consumer_of(transport, "video")
    await wait_for(lambda: consumer.remote is not None and subscriber.count("video") >= 20, 20)
    old_publisher = lesson.publisher
    lesson.publisher = RTCPeerConnection()  # the teacher reloads: a second publisher for the same feeds
    try:
        switched_at = subscriber.count("video")
        await lesson.publish(audio_track(opus_packets), video_track(vp8_packets))
        await old_publisher.close()
        await wait_for(lambda: subscriber.count("video") >= switched_at + 40, 20)
    finally:
        await old_publisher.close()

    packets = subscriber.packets["video"]
    assert {p.ssrc for p in packets} == {packets[0].ssrc}
    seqs = sorted({p.sequence_number for p in packets[switched_at - 10:]})
    assert all(b - a == 1 for a, b in zip(seqs, seqs[1:], strict=False))  # no gap at the switch
    stamps = [p.timestamp for p in packets[switched_at - 10:]]
    assert all(0 <= (b - a) % (1 << 32) < 90000 for a, b in zip(stamps, stamps[1:], strict=False))


async def test_a_killed_worker_hands_its_subscribers_back_to_the_main_process(
        lesson: Lesson, vp8_packets: list[bytes], opus_packets: list[bytes]) -> None:
    await lesson.publish(audio_track(opus_packets), video_track(vp8_packets))
    subscriber, transport = await lesson.subscribe()
    consumers = list(transport.consumers.values())
    await wait_for(lambda: all(c.remote is not None for c in consumers) and subscriber.count("video") >= 20, 20)
    victim = remote_of(consumer_of(transport, "video")).worker
    pid = victim.pid
    assert pid is not None

    os.kill(pid, signal.SIGKILL)

    pool = pool_of(lesson)
    await wait_for(lambda: victim in pool.lost, 10)
    video = consumer_of(transport, "video")
    assert video.remote is None  # back in-process
    count = subscriber.count("video")
    await wait_for(lambda: subscriber.count("video") >= count + 30, 20)
    await wait_for(lambda: not psutil.pid_exists(pid), 10)  # reaped: not even a zombie is left


async def test_commands_to_a_worker_that_cannot_keep_up_wait_in_order_and_are_not_lost(
        lesson: Lesson, vp8_packets: list[bytes], opus_packets: list[bytes]) -> None:
    await lesson.publish(audio_track(opus_packets), video_track(vp8_packets))
    subscriber, transport = await lesson.subscribe()
    consumer = consumer_of(transport, "video")
    await wait_for(lambda: consumer.remote is not None and subscriber.count("video") >= 20, 20)
    worker = remote_of(consumer).worker
    assert worker.pid is not None

    os.kill(worker.pid, signal.SIGSTOP)  # the worker gets no core for a while
    try:
        for _ in range(5000):  # far more than the control channel's buffer holds
            consumer.set_paused(True)
            consumer.set_paused(False)
        assert worker._backlog  # the channel is full: commands wait
    finally:
        os.kill(worker.pid, signal.SIGCONT)

    await wait_for(lambda: not worker._backlog, 20)
    count = subscriber.count("video")
    await wait_for(lambda: subscriber.count("video") >= count + 30, 20)  # the last command (resume) arrived
    assert consumer.remote is not None and worker.alive


async def test_closing_the_engine_leaves_no_worker_process(
        vp8_packets: list[bytes], opus_packets: list[bytes]) -> None:
    engine = MediaEngine(MediaConfig(workers=2))
    engine.start()
    lesson = Lesson(engine, engine.router("L"))
    await lesson.publish(audio_track(opus_packets), video_track(vp8_packets))
    subscriber, transport = await lesson.subscribe()
    await wait_for(lambda: all(c.remote is not None for c in transport.consumers.values()), 20)
    pids = [w.pid for w in pool_of(lesson).workers]
    assert all(pid is not None and psutil.pid_exists(pid) for pid in pids)

    await lesson.close()

    assert not [pid for pid in pids if pid is not None and psutil.pid_exists(pid)]
    children = psutil.Process().children(recursive=True)
    assert not [c for c in children if "media.workers.process" in " ".join(_cmdline(c))]


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return list(process.cmdline())
    except psutil.Error:
        return []


async def test_one_worker_or_none_keeps_every_consumer_in_process(
        vp8_packets: list[bytes], opus_packets: list[bytes]) -> None:
    engine = MediaEngine(MediaConfig(workers=1))
    engine.start()
    lesson = Lesson(engine, engine.router("L"))
    try:
        await lesson.publish(audio_track(opus_packets), video_track(vp8_packets))
        subscriber, transport = await lesson.subscribe()
        await wait_for(lambda: subscriber.count("video") >= 20, 20)
        assert engine.workers is None
        assert all(c.remote is None for c in transport.consumers.values())
    finally:
        await lesson.close()


