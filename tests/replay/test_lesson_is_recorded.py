"""Every live lesson is recorded from the teacher's first publish, and replayable when it ends."""

from __future__ import annotations

from typing import Any

import av
import httpx
from starlette.applications import Starlette

from tests.support.tokens import Tokens
from tests.support.wait import wait_for
from tests.support.whip import publish


async def test_a_live_lesson_is_recorded_without_a_button_and_replayable_with_range_after_it_ends(
    app: Starlette, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    lesson = (await client.post("/api/lessons", json={"title": "Mould design"}, headers=tokens.teacher())).json()
    pc = await publish(client, tokens, lesson["id"])
    try:
        live = app.state.live_recordings
        await wait_for(lambda: lesson["id"] in live.active)
        listed = (await client.get(f"/api/recordings?lesson={lesson['id']}", headers=tokens.teacher())).json()
        [recording] = listed["recordings"]
        assert recording["status"] == "recording"
        _, recorder = live.active[lesson["id"]]
        await wait_for(lambda: recorder.duration_s > 2.5, timeout=15)
    finally:
        await pc.close()
    ended = await client.post(f"/api/lessons/{lesson['id']}/end", headers=tokens.teacher())
    assert ended.status_code == 200

    meta: dict[str, Any] = (await client.get(f"/api/recordings/{recording['id']}", headers=tokens.teacher())).json()
    assert meta["status"] == "complete"
    assert {(t["kind"], t["codec"]) for t in meta["tracks"]} == {("video", "vp8"), ("audio", "opus")}
    viewer = tokens.student("li", lesson=lesson["id"])
    video_url = next(t["url"] for t in meta["tracks"] if t["kind"] == "video")
    whole = await client.get(video_url, headers=viewer)
    assert whole.status_code == 200
    part = await client.get(video_url, headers={**viewer, "Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == whole.content[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{len(whole.content)}"

    path = app.state.settings.data_dir / "recordings" / recording["id"]
    [media_file] = list(path.glob("teacher.*"))
    with av.open(str(media_file)) as container:
        assert container.duration is not None  # finished: seek index and duration written
        assert {s.type for s in container.streams} == {"video", "audio"}
        frames = sum(1 for _ in container.decode(video=0))
    assert frames > 30


async def test_a_lesson_created_with_recording_off_is_not_recorded(
    app: Starlette, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    lesson = (await client.post("/api/lessons", json={"title": "Private drill", "recording": False},
                                headers=tokens.teacher())).json()
    pc = await publish(client, tokens, lesson["id"])
    try:
        await wait_for(lambda: bool(app.state.live_media.sessions))
        assert lesson["id"] not in app.state.live_recordings.active
        listed = (await client.get(f"/api/recordings?lesson={lesson['id']}", headers=tokens.teacher())).json()
        assert listed["recordings"] == []
    finally:
        await pc.close()
