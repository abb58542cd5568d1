"""``GET /metrics`` scraped twice during a live lesson on a real server, with real aiortc peers (issue 11)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from aiortc import RTCPeerConnection
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from tests.support.lesson_channel import LessonClient, answer_offers, bearer, publish
from tests.support.peers import Subscriber
from tests.support.tokens import Tokens
from tests.support.wait import wait_for

pytestmark = pytest.mark.timeout(60)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample ``name`` with exactly ``labels``; 0 when absent."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of every sample ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, got), v in samples.items() if n == name and wanted <= got)


@pytest.fixture
async def http(base: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base.replace("ws://", "http://"), timeout=10) as client:
        yield client


async def scrape(http: httpx.AsyncClient, tokens: Tokens) -> Samples:
    response = await http.get("/metrics", headers=tokens.admin())
    assert response.status_code == 200, response.text
    return parse(response.text)


async def test_metrics_follow_a_live_lesson_between_two_scrapes(
    http: httpx.AsyncClient, base: str, lesson_id: str, tokens: Tokens, app: Starlette
) -> None:
    viewer = Subscriber()
    publisher: RTCPeerConnection | None = None
    try:
        async with (
            LessonClient.connect(base, lesson_id, bearer(tokens.teacher())) as teacher,
            LessonClient.connect(base, lesson_id, bearer(tokens.classroom("nujiang-1"))) as classroom,
        ):
            await teacher.expect("welcome")
            publisher = await publish(teacher, {"0": "camera", "1": "mic"})
            await answer_offers(classroom, viewer)
            await wait_for(lambda: viewer.frames["video"] > 5 and viewer.frames["audio"] > 5)
            await wait_for(lambda: app.state.live_recordings.bytes_written > 0)  # the file has its header
            assert (await http.get(f"/api/lessons/{lesson_id}", headers=tokens.teacher())).status_code == 200

            first = await scrape(http, tokens)
            frames = viewer.frames["video"]
            await wait_for(lambda: viewer.frames["video"] > frames + 15)
            second = await scrape(http, tokens)

            assert value(second, "classroom_lessons_live") == 1
            assert value(second, "classroom_participants", role="teacher") == 1
            assert value(second, "classroom_participants", role="classroom") == 1
            assert value(second, "classroom_participants", role="student") == 0
            for kind in ("audio", "video"):
                media = {"lesson": lesson_id, "kind": kind}
                assert value(second, "classroom_feeds_live", **media) == 1
                assert value(second, "classroom_media_consumers", **media) == 1
                for name in ("received_packets", "received_bytes", "forwarded_packets", "forwarded_bytes"):
                    counter = f"classroom_media_{name}_total"
                    assert value(second, counter, **media) > value(first, counter, **media) > 0, counter
                assert value(second, "classroom_media_consumer_loss_ratio_gcount", **media) == 1
            video = {"lesson": lesson_id, "kind": "video"}
            assert value(second, "classroom_media_keyframe_requests_sent_total", **video) >= 1

            assert value(second, "classroom_recordings_in_progress") == 1
            written = "classroom_recording_bytes_written_total"
            assert value(second, written) > value(first, written) > 0

            scrapes = {"method": "GET", "route": "/metrics", "status": "200"}
            assert value(second, "classroom_http_requests_total", **scrapes) == \
                value(first, "classroom_http_requests_total", **scrapes) + 1
            lesson_reads = {"method": "GET", "route": "/api/lessons/{lesson_id}", "status": "200"}
            assert value(second, "classroom_http_requests_total", **lesson_reads) == 1
            assert total(second, "classroom_http_requests_total", route=f"/api/lessons/{lesson_id}") == 0

            pool = app.state.live_media.engine.workers
            workers = [] if pool is None else [w for w in pool.workers if w.alive]
            assert value(second, "classroom_media_workers") == len(workers)
            if workers:  # the classroom's audio and video consumers are sent by a worker
                assert sum(len(w.remotes) for w in workers) == 2
            for worker in workers:  # the default settings start one per core; their CPU is counted while they send
                label = {"worker": str(worker.index)}
                assert value(second, "classroom_media_worker_consumers", **label) == len(worker.remotes)
                assert value(second, "classroom_media_worker_cpu_seconds_total", **label) > 0
            assert total(second, "classroom_media_worker_consumers") == sum(len(w.remotes) for w in workers)

            assert value(second, "classroom_event_loop_lag_seconds_count") > 0
            assert value(second, "process_cpu_seconds_total") > 0
            assert value(second, "classroom_presence_events_ingested_total") >= 1  # the classroom's arrival

            ended = await http.post(f"/api/lessons/{lesson_id}/end", headers=tokens.teacher())
            assert ended.status_code == 200, ended.text
            third = await scrape(http, tokens)
            assert value(third, "classroom_lessons_live") == value(third, "classroom_recordings_in_progress") == 0
            assert value(third, written) >= value(second, written)  # finished files stay counted
            assert total(third, "classroom_media_forwarded_bytes_total") == 0  # its series ended with the lesson
    finally:
        if publisher is not None:
            await publisher.close()
        await viewer.close()


async def test_metrics_refuse_a_token_scoped_to_one_lesson(
    http: httpx.AsyncClient, lesson_id: str, tokens: Tokens
) -> None:
    assert (await http.get("/metrics")).status_code == 401
    assert (await http.get("/metrics", headers=tokens.admin(lesson=lesson_id))).status_code == 403
    assert (await http.get("/metrics", headers=tokens.teacher())).status_code == 403
