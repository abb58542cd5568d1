"""The teacher sees each classroom's link as the server measures it: loss, round trip, bitrates."""

from __future__ import annotations

from typing import Any

from aiortc import RTCPeerConnection

from server.live.channel.quality import Counters, link_quality
from tests.support.lesson_channel import LessonClient, answer_offers, bearer, publish
from tests.support.peers import Subscriber
from tests.support.tokens import Tokens


def _row(message: dict[str, Any], subject: str) -> dict[str, Any] | None:
    return next((row for row in message["participants"] if row["subject"] == subject), None)


def _measured(message: dict[str, Any], subject: str, *fields: str) -> bool:
    row = _row(message, subject)
    return row is not None and all(row[field] is not None for field in fields)


def test_bitrates_need_two_samples_and_a_new_connection_restarts_the_count() -> None:
    first = Counters(at=10.0, sent_to=0, received_from=None, loss=None, rtt=None)
    later = Counters(at=12.0, sent_to=250_000, received_from=None, loss=0.25, rtt=0.0123)
    assert link_quality(None, first) == {"loss": None, "rtt_ms": None, "receive_kbps": None, "send_kbps": None}
    assert link_quality(first, later) == {"loss": 0.25, "rtt_ms": 12.3, "receive_kbps": 1000.0, "send_kbps": None}
    restarted = Counters(at=14.0, sent_to=50_000, received_from=25_000, loss=0.0, rtt=0.002)
    assert link_quality(later, restarted)["receive_kbps"] == 200.0  # counters restarted: not negative
    assert link_quality(later, restarted)["send_kbps"] == 100.0


async def test_the_teacher_gets_loss_round_trip_and_bitrates_of_a_watching_and_an_on_stage_classroom(
    base: str, lesson_id: str, tokens: Tokens
) -> None:
    view = Subscriber()
    publishers: list[RTCPeerConnection] = []
    try:
        async with (
            LessonClient.connect(base, lesson_id, bearer(tokens.teacher())) as teacher,
            LessonClient.connect(base, lesson_id, bearer(tokens.classroom("nujiang-1", school="west"))) as nujiang,
        ):
            await teacher.expect("welcome")
            publishers.append(await publish(teacher, {"0": "camera", "1": "mic"}))
            await answer_offers(nujiang, view)
            watching = await teacher.expect_where(
                "quality", lambda m: _measured(m, "nujiang-1", "loss", "rtt_ms", "receive_kbps"), timeout=20)
            row = _row(watching, "nujiang-1")
            assert row is not None
            assert row["role"] == "classroom" and row["school"] == "west"
            assert 0 <= row["loss"] <= 1 and 0 <= row["rtt_ms"] < 1000 and row["receive_kbps"] > 10
            assert row["send_kbps"] is None  # it publishes nothing
            assert all(r["role"] != "teacher" for r in watching["participants"])

            await nujiang.request({"type": "hand.raise"})
            assert (await teacher.request({"type": "stage.invite", "subject": "nujiang-1"}))["type"] == "ack"
            publishers.append(await publish(nujiang, {"0": "camera", "1": "mic"}))
            on_stage = await teacher.expect_where(
                "quality", lambda m: ((_row(m, "nujiang-1") or {}).get("send_kbps") or 0) > 10, timeout=20)
            assert _row(on_stage, "nujiang-1") is not None
            assert (await nujiang.request({"type": "ping"}))["type"] == "pong"
            assert not any(m["type"] == "quality" for m in nujiang.seen)  # the teacher's alone
    finally:
        for pc in publishers:
            await pc.close()
        await view.close()
