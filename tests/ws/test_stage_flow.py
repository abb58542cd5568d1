"""The interactive lesson: teacher broadcasts, classrooms watch, one is brought on stage."""

from __future__ import annotations

from aiortc import RTCPeerConnection
from starlette.applications import Starlette

from tests.support.lesson_channel import LessonClient, answer_offers, bearer, publish
from tests.support.peers import Subscriber, SyntheticVideo, publisher_offer
from tests.support.tokens import Tokens
from tests.support.wait import wait_for


async def test_classroom_on_stage_is_seen_and_heard_by_teacher_and_other_classrooms(
    base: str, lesson_id: str, tokens: Tokens, app: Starlette
) -> None:
    teacher_view, west_view = Subscriber(kinds=()), Subscriber(kinds=())
    publishers: list[RTCPeerConnection] = []
    try:
        async with (
            LessonClient.connect(base, lesson_id, bearer(tokens.teacher())) as teacher,
            LessonClient.connect(base, lesson_id, bearer(tokens.classroom("nujiang-1"))) as nujiang,
            LessonClient.connect(base, lesson_id, bearer(tokens.classroom("kunming-2"))) as kunming,
        ):
            await teacher.expect("welcome")
            publishers.append(await publish(teacher, {"0": "camera", "1": "mic"}))
            tracks = await answer_offers(kunming, west_view)
            assert sorted(tracks.values()) == ["teacher/camera", "teacher/mic"]
            await wait_for(lambda: west_view.frames["video"] > 5 and west_view.frames["audio"] > 5)

            assert (await nujiang.request({"type": "hand.raise"}))["type"] == "ack"
            assert (await teacher.expect("stage", hands=["nujiang-1"]))["on_stage"] == []
            reply = await teacher.request({"type": "stage.invite", "subject": "nujiang-1"})
            assert reply["type"] == "ack", reply
            await nujiang.expect("stage.invited")
            assert (await kunming.expect("stage", on_stage=["nujiang-1"]))["hands"] == []

            publishers.append(await publish(nujiang, {"0": "camera", "1": "mic"}))
            teacher_tracks = await answer_offers(teacher, teacher_view)
            assert sorted(teacher_tracks.values()) == ["classroom:nujiang-1/camera", "classroom:nujiang-1/mic"]
            tracks = await answer_offers(kunming, west_view)
            stage_mids = [mid for mid, feed in tracks.items() if feed.startswith("classroom:nujiang-1/")]
            assert len(stage_mids) == 2
            await wait_for(lambda: all(west_view.frames_by_mid[mid] > 5 for mid in stage_mids))
            await wait_for(lambda: teacher_view.frames["video"] > 5 and teacher_view.frames["audio"] > 5)

            assert (await teacher.request({"type": "stage.remove", "subject": "nujiang-1"}))["type"] == "ack"
            await kunming.expect("stage", on_stage=[])
            router = app.state.live_media.engine.routers[lesson_id]
            await wait_for(lambda: "classroom:nujiang-1/camera" not in router.live_feeds())
            await kunming.expect_where("tracks", lambda m: all(m["tracks"].get(mid, "") is None for mid in stage_mids))
    finally:
        for pc in publishers:
            await pc.close()
        await teacher_view.close()
        await west_view.close()


async def test_classroom_cannot_publish_unless_on_stage(base: str, lesson_id: str, tokens: Tokens) -> None:
    pc = RTCPeerConnection()
    try:
        async with LessonClient.connect(base, lesson_id, bearer(tokens.classroom("nujiang-1"))) as nujiang:
            sdp = await publisher_offer(pc, SyntheticVideo())
            reply = await nujiang.request({"type": "publish.offer", "sdp": sdp, "feeds": {"0": "camera"}})
            assert reply["type"] == "error" and reply["code"] == "forbidden", reply
    finally:
        await pc.close()


async def test_stage_holds_at_most_the_configured_number_of_classrooms(
    base: str, lesson_id: str, tokens: Tokens
) -> None:
    async with (
        LessonClient.connect(base, lesson_id, bearer(tokens.teacher())) as teacher,
        LessonClient.connect(base, lesson_id, bearer(tokens.classroom("a"))),
        LessonClient.connect(base, lesson_id, bearer(tokens.classroom("b"))),
        LessonClient.connect(base, lesson_id, bearer(tokens.classroom("c"))),
    ):
        for subject in ("a", "b"):
            assert (await teacher.request({"type": "stage.invite", "subject": subject}))["type"] == "ack"
        reply = await teacher.request({"type": "stage.invite", "subject": "c"})
        assert reply["type"] == "error" and reply["code"] == "conflict"
        assert "full" in reply["message"]


async def test_teacher_screen_share_reaches_classrooms_as_a_second_video_feed_and_stops(
    base: str, lesson_id: str, tokens: Tokens, app: Starlette
) -> None:
    viewer = Subscriber(kinds=())
    publisher: RTCPeerConnection | None = None
    try:
        async with (
            LessonClient.connect(base, lesson_id, bearer(tokens.teacher())) as teacher,
            LessonClient.connect(base, lesson_id, bearer(tokens.classroom("kunming-2"))) as kunming,
        ):
            publisher = await publish(teacher, {"0": "camera", "1": "screen", "2": "mic"})
            tracks = await answer_offers(kunming, viewer)
            assert sorted(tracks.values()) == ["teacher/camera", "teacher/mic", "teacher/screen"]
            mids = {feed: mid for mid, feed in tracks.items()}
            await wait_for(lambda: all(viewer.frames_by_mid[mids[f]] > 5 for f in ("teacher/camera", "teacher/screen")))

            assert (await teacher.request({"type": "publish.stop", "feed": "screen"}))["type"] == "ack"
            await kunming.expect_where("tracks", lambda m: m["tracks"].get(mids["teacher/screen"], "") is None)
            camera_frames = viewer.frames_by_mid[mids["teacher/camera"]]
            await wait_for(lambda: viewer.frames_by_mid[mids["teacher/camera"]] > camera_frames + 5)
            assert "teacher/screen" not in app.state.live_media.engine.routers[lesson_id].live_feeds()
    finally:
        if publisher is not None:
            await publisher.close()
        await viewer.close()
