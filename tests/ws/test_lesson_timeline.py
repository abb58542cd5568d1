"""What happens in a lesson lands on its recording's timeline: joins, chat, stage, teacher markers."""

from __future__ import annotations

import httpx
from aiortc import RTCPeerConnection
from starlette.applications import Starlette

from tests.support.lesson_channel import LessonClient, bearer, publish
from tests.support.tokens import Tokens
from tests.support.wait import wait_for


async def test_joins_chat_stage_and_markers_are_on_the_recording_timeline_and_markers_are_chapters(
    base: str, lesson_id: str, tokens: Tokens, client: httpx.AsyncClient, app: Starlette
) -> None:
    publisher: RTCPeerConnection | None = None
    try:
        async with LessonClient.connect(base, lesson_id, bearer(tokens.teacher())) as teacher:
            publisher = await publish(teacher, {"0": "camera", "1": "mic"})
            await wait_for(lambda: lesson_id in app.state.live_recordings.active)
            async with LessonClient.connect(base, lesson_id, bearer(tokens.classroom("nujiang-1"))) as nujiang:
                assert (await nujiang.request({"type": "chat.send", "text": "你好, east!"}))["type"] == "ack"
                assert (await nujiang.request({"type": "hand.raise"}))["type"] == "ack"
                marker = await teacher.request({"type": "marker.add", "title": "Clamping the mould"})
                assert marker["type"] == "ack" and marker["chapter_at_s"] is not None
                refused = await nujiang.request({"type": "marker.add", "title": "mine"})
                assert refused["type"] == "error" and refused["code"] == "forbidden"
    finally:
        if publisher is not None:
            await publisher.close()
    assert (await client.post(f"/api/lessons/{lesson_id}/end", headers=tokens.teacher())).status_code == 200

    [recording] = (await client.get(f"/api/recordings?lesson={lesson_id}", headers=tokens.teacher())).json()[
        "recordings"]
    timeline = (await client.get(f"/api/recordings/{recording['id']}/timeline", headers=tokens.teacher())).json()
    events = timeline["events"]
    kinds = [e["kind"] for e in events]
    assert {"join", "chat", "stage", "marker", "leave"} <= set(kinds)
    [chat] = [e for e in events if e["kind"] == "chat"]
    assert chat["text"] == "你好, east!" and chat["from"]["subject"] == "nujiang-1"
    [marker_event] = [e for e in events if e["kind"] == "marker"]
    assert marker_event["title"] == "Clamping the mould"
    assert marker_event["by"] == {"subject": "alice", "role": "teacher", "school": "east"}
    assert kinds.index("join") < kinds.index("chat") < kinds.index("marker")
    assert all(e["t"] >= 0 for e in timeline["events"])
    meta = (await client.get(f"/api/recordings/{recording['id']}", headers=tokens.teacher())).json()
    assert [c["title"] for c in meta["chapters"]] == ["Clamping the mould"]
