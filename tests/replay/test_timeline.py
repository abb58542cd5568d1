"""The lesson timeline beside the media, over HTTP and directly."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from classroom.errors import ValidationError
from server.replay.timeline import append_lesson_event, lesson_event
from server.training.event_log import Event
from tests.support.recordings import DURATION_S, STARTED_AT, seed
from tests.support.tokens import Tokens


@pytest.fixture
async def logged(app: Starlette) -> None:
    await seed(app)
    log = app.state.training_log
    events: list[tuple[str, float, dict[str, Any]]] = [
        ("chat", -30.0, {"from": {"subject": "alice"}, "text": "before the recording"}),
        ("join", 0.0, {"subject": "nujiang-1", "role": "classroom"}),
        ("chat", 12.25, {"from": {"subject": "alice"}, "text": "welcome"}),
        ("stage", 40.0, {"on_stage": ["nujiang-1"], "hands": []}),
        ("marker", 41.5, {"label": "demo starts"}),
        ("leave", 3000.0, {"subject": "nujiang-1"}),
        ("chat", DURATION_S + 1, {"from": {"subject": "alice"}, "text": "after the end"}),
    ]
    for kind, t, body in events:
        await append_lesson_event(log, "L1", kind, body, at=STARTED_AT + t)
    await append_lesson_event(log, "L2", "chat", {"text": "another lesson"}, at=STARTED_AT + 20)
    await log.append([
        Event("L1", STARTED_AT + 20, "command", 1, {"actor": {"subject": "alice", "role": "teacher"},
                                                    "command": {"kind": "station", "station": "press",
                                                                "action": "start"}}),
        Event("L1", STARTED_AT + 20.05, "patch", 1, {"from": 1, "to": 1, "time": 1.0, "ops": []}),
    ])


async def test_timeline_of_the_whole_recording(client: httpx.AsyncClient, tokens: Tokens, logged: None) -> None:
    response = await client.get("/api/recordings/R1/timeline", headers=tokens.student(lesson="L1"))
    assert response.status_code == 200
    body = response.json()
    assert (body["recording"], body["from"], body["to"], body["truncated"]) == ("R1", 0.0, DURATION_S, False)
    assert [(e["t"], e["kind"]) for e in body["events"]] == [
        (0.0, "join"), (12.25, "chat"), (20.0, "command"), (40.0, "stage"), (41.5, "marker"), (3000.0, "leave")]
    assert body["events"][1] == {"t": 12.25, "kind": "chat", "from": {"subject": "alice"}, "text": "welcome"}


async def test_timeline_window_is_inclusive_and_on_the_media_clock(client: httpx.AsyncClient, tokens: Tokens,
                                                                   logged: None) -> None:
    response = await client.get("/api/recordings/R1/timeline?from=12.25&to=41.5", headers=tokens.student(lesson="L1"))
    assert [(e["t"], e["kind"]) for e in response.json()["events"]] == [
        (12.25, "chat"), (20.0, "command"), (40.0, "stage"), (41.5, "marker")]
    response = await client.get("/api/recordings/R1/timeline?from=13&to=39", headers=tokens.student(lesson="L1"))
    assert [e["kind"] for e in response.json()["events"]] == ["command"]


async def test_timeline_kinds_filter(client: httpx.AsyncClient, tokens: Tokens, logged: None) -> None:
    response = await client.get("/api/recordings/R1/timeline?kinds=chat,marker", headers=tokens.student(lesson="L1"))
    assert [(e["t"], e["kind"]) for e in response.json()["events"]] == [(12.25, "chat"), (41.5, "marker")]


@pytest.mark.parametrize("query", ["?from=-1", "?from=abc", "?to=inf", "?from=10&to=5", "?kinds=patch",
                                   "?kinds=", "?kinds=chat,snapshot"])
async def test_bad_timeline_queries_are_400(client: httpx.AsyncClient, tokens: Tokens, logged: None,
                                            query: str) -> None:
    response = await client.get("/api/recordings/R1/timeline" + query, headers=tokens.student(lesson="L1"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


async def test_timeline_is_truncated_past_the_page_size(app: Starlette, client: httpx.AsyncClient, tokens: Tokens,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import server.replay.service

    monkeypatch.setattr(server.replay.service, "MAX_TIMELINE_EVENTS", 3)
    await seed(app)
    for i in range(5):
        await append_lesson_event(app.state.training_log, "L1", "chat", {"text": str(i)}, at=STARTED_AT + i)
    body = (await client.get("/api/recordings/R1/timeline", headers=tokens.student(lesson="L1"))).json()
    assert body["truncated"] is True and [e["text"] for e in body["events"]] == ["0", "1", "2"]
    body = (await client.get("/api/recordings/R1/timeline?from=2", headers=tokens.student(lesson="L1"))).json()
    assert body["truncated"] is False and [e["text"] for e in body["events"]] == ["2", "3", "4"]


def test_only_lesson_kinds_are_appended_and_bodies_are_bounded() -> None:
    assert lesson_event("L1", "chat", {"text": "hi"}, at=5.0) == Event("L1", 5.0, "chat", 0, {"text": "hi"})
    for kind in ("patch", "snapshot", "command", "bogus"):
        with pytest.raises(ValidationError):
            lesson_event("L1", kind, {})
    with pytest.raises(ValidationError):
        lesson_event("L1", "chat", {"text": "x" * 20_000})
