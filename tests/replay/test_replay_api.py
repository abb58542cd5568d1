"""Replay API: who may see what (the access matrix), listing filters, chapters, deletion, start-up."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from classroom.recordings import RecordingStatus
from classroom.roles import Role
from server.edge.app import create_app
from server.edge.database import SqliteDatabase
from server.edge.settings import Settings
from server.replay.store import RECORDINGS_SCHEMA, SqlRecordingStore
from server.replay.timeline import LessonTimeline, append_lesson_event
from server.training.event_log import Event
from tests.support.recordings import DURATION_S, STARTED_AT, media_root, recording, seed
from tests.support.tokens import Tokens

# (who, role, subject, school, lesson scope) -> may replay recording R1 of lesson L1 (school east, teacher alice)
MATRIX = [
    ("admin of the school", Role.ADMIN, "root", "east", "*", True),
    ("admin of another school", Role.ADMIN, "root", "west", "*", False),
    ("the lesson's teacher", Role.TEACHER, "alice", "east", "*", True),
    ("another teacher of the school", Role.TEACHER, "bob", "east", "*", True),
    ("the teacher scoped to another lesson", Role.TEACHER, "alice", "east", "L2", False),
    ("a teacher of another school", Role.TEACHER, "carol", "west", "*", False),
    ("an all-lessons student who neither enrolled nor attended", Role.STUDENT, "li", "east", "*", False),
    ("a student of the lesson from the west", Role.STUDENT, "wang", "west", "L1", True),
    ("a student of another lesson", Role.STUDENT, "li", "east", "L2", False),
    ("a student of another school", Role.STUDENT, "wang", "west", "*", False),
    ("the lesson's classroom", Role.CLASSROOM, "nujiang-1", "west", "L1", True),
    ("a classroom of another lesson", Role.CLASSROOM, "nujiang-1", "west", "L2", False),
    ("an all-lessons classroom of another school", Role.CLASSROOM, "nujiang-1", "west", "*", False),
]
READ_PATHS = [
    "/api/recordings/R1",
    "/api/recordings/R1/media/teacher/camera",
    "/api/recordings/R1/timeline",
    "/api/recordings/R1/state?t=10",
]


@pytest.fixture
async def r1(app: Starlette) -> None:
    await seed(app)


@pytest.mark.parametrize(("who", "role", "subject", "school", "scope", "allowed"), MATRIX, ids=[m[0] for m in MATRIX])
async def test_access_matrix(client: httpx.AsyncClient, tokens: Tokens, r1: None, who: str, role: Role,
                             subject: str, school: str, scope: str, allowed: bool) -> None:
    headers = tokens.headers(role, subject, school=school, lesson=scope)
    for path in READ_PATHS:
        response = await client.get(path, headers=headers)
        assert response.status_code == (200 if allowed else 403), (who, path, response.text)
    listed = (await client.get("/api/recordings", headers=headers)).json()["recordings"]
    assert [r["id"] for r in listed] == (["R1"] if allowed else [])
    may_add = role is Role.TEACHER and subject == "alice" and allowed
    chapter = await client.post("/api/recordings/R1/chapters", json={"at_s": 1, "title": "x"}, headers=headers)
    assert chapter.status_code == (201 if may_add else 403), who
    may_delete = role is Role.ADMIN and allowed
    delete = await client.delete("/api/recordings/R1", headers=headers)
    assert delete.status_code == (204 if may_delete else 403), who


@pytest.mark.parametrize("path", [*READ_PATHS, "/api/recordings"])
async def test_every_read_needs_a_token(client: httpx.AsyncClient, r1: None, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_writes_need_a_token(client: httpx.AsyncClient, r1: None) -> None:
    assert (await client.delete("/api/recordings/R1")).status_code == 401
    assert (await client.post("/api/recordings/R1/chapters", json={"at_s": 1, "title": "x"})).status_code == 401


@pytest.mark.parametrize("path", ["/api/recordings/NOPE", "/api/recordings/NOPE/media/teacher/camera",
                                  "/api/recordings/NOPE/timeline", "/api/recordings/NOPE/state?t=1"])
async def test_unknown_recording_is_404(client: httpx.AsyncClient, tokens: Tokens, path: str) -> None:
    response = await client.get(path, headers=tokens.admin())
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_unknown_recording_is_404_for_writes(client: httpx.AsyncClient, tokens: Tokens) -> None:
    assert (await client.delete("/api/recordings/NOPE", headers=tokens.admin())).status_code == 404
    response = await client.post("/api/recordings/NOPE/chapters", json={"at_s": 1, "title": "x"},
                                 headers=tokens.teacher())
    assert response.status_code == 404


async def test_metadata(client: httpx.AsyncClient, tokens: Tokens, r1: None) -> None:
    response = await client.get("/api/recordings/R1", headers=tokens.student(lesson="L1"))
    assert response.status_code == 200
    body = response.json()
    assert body["duration_s"] == DURATION_S and body["status"] == "complete" and body["chapters"] == []
    assert body["lesson_id"] == "L1" and body["started_at"] == STARTED_AT
    camera = body["tracks"][0]
    url, _, ticket = camera.pop("url").partition("?ticket=")
    assert url == "/api/recordings/R1/media/teacher/camera" and ticket  # a media ticket (test_media_tickets)
    assert camera == {"name": "teacher/camera", "kind": "video", "codec": "vp8", "width": 1280, "height": 720,
                      "muxed_with": None}
    assert all("file" not in track for track in body["tracks"])  # server paths stay on the server


async def test_list_filters(app: Starlette, client: httpx.AsyncClient, tokens: Tokens) -> None:
    await seed(app, recording("A", "L1", started_at=1_725_148_800.0))  # 2024-09-01T00:00:00Z
    await seed(app, recording("B", "L1", started_at=1_725_235_199.0, course="welding"))  # 2024-09-01T23:59:59Z
    await seed(app, recording("C", "L2", started_at=1_725_235_200.0))  # 2024-09-02T00:00:00Z
    await seed(app, recording("W", "L9", started_at=1_725_235_300.0, school="west"))

    async def ids(query: str, headers: dict[str, str] | None = None) -> list[str]:
        response = await client.get("/api/recordings" + query, headers=headers or tokens.teacher())
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["recordings"]]

    assert await ids("") == ["C", "B", "A"]  # newest first, own school only
    assert await ids("?lesson=L1") == ["B", "A"]
    assert await ids("?course=welding") == ["B"]
    assert await ids("?since=2024-09-01&until=2024-09-01") == ["B", "A"]  # a bare until date includes that day
    assert await ids("?since=2024-09-01T12:00:00Z") == ["C", "B"]
    assert await ids("?since=2024-09-01T14:00:00%2B02:00") == ["C", "B"]
    assert await ids("?since=2024-09-01T14:00:00+02:00") == ["C", "B"]  # "+" unencoded: read as a space
    assert await ids("?until=1725148800") == ["A"]
    assert await ids("?since=1725148800.5&until=1725235200") == ["C", "B"]
    assert await ids("", tokens.student(school="west", lesson="L2")) == ["C"]
    assert await ids("?lesson=L1", tokens.student(school="west", lesson="L2")) == []


@pytest.mark.parametrize("query", ["?since=yesterday", "?until=2024-13-01", "?since=nan", "?since=inf",
                                   "?since=2024-09-02&until=2024-09-01", "?until=9999-12-31", "?lesson=",
                                   "?course=" + "x" * 101])
async def test_bad_list_queries_are_400(client: httpx.AsyncClient, tokens: Tokens, query: str) -> None:
    response = await client.get("/api/recordings" + query, headers=tokens.teacher())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


async def test_the_lessons_teacher_adds_chapters_in_media_order(client: httpx.AsyncClient, tokens: Tokens,
                                                                r1: None) -> None:
    for at_s, title in ((600, "Clamping the insert"), (60.5, "Safety briefing")):
        response = await client.post("/api/recordings/R1/chapters", json={"at_s": at_s, "title": title},
                                     headers=tokens.teacher())
        assert response.status_code == 201, response.text
    chapters = (await client.get("/api/recordings/R1", headers=tokens.student(lesson="L1"))).json()["chapters"]
    assert chapters == [{"at_s": 60.5, "title": "Safety briefing", "by": "teacher:alice@east"},
                        {"at_s": 600.0, "title": "Clamping the insert", "by": "teacher:alice@east"}]


@pytest.mark.parametrize(("body", "fragment"), [
    ({"title": "x"}, "at_s is required"),
    ({"at_s": "10", "title": "x"}, "at_s must be a number"),
    ({"at_s": -1, "title": "x"}, "negative"),
    ({"at_s": DURATION_S + 1, "title": "x"}, "duration"),
    ({"at_s": 1}, "title"),
    ({"at_s": 1, "title": ""}, "title"),
    ({"at_s": 1, "title": "x", "by": "mallory"}, "unknown field"),
])
async def test_bad_chapters_are_400(client: httpx.AsyncClient, tokens: Tokens, r1: None, body: dict[str, object],
                                    fragment: str) -> None:
    response = await client.post("/api/recordings/R1/chapters", json=body, headers=tokens.teacher())
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]


async def test_chapter_body_must_be_json(client: httpx.AsyncClient, tokens: Tokens, r1: None) -> None:
    response = await client.post("/api/recordings/R1/chapters", content=b"at_s=1", headers=tokens.teacher())
    assert response.status_code == 415


async def test_delete_removes_media_files_timeline_rows_and_the_row(app: Starlette, client: httpx.AsyncClient,
                                                                    tokens: Tokens) -> None:
    rec, _ = await seed(app)
    keep, _ = await seed(app, recording("OTHER", "L7"))
    log = app.state.training_log
    await append_lesson_event(log, "L1", "chat", {"text": "hello"}, at=STARTED_AT + 5)
    await append_lesson_event(log, "L7", "chat", {"text": "stays"}, at=STARTED_AT + 5)
    await log.append([Event("L1", STARTED_AT + 1, "snapshot", 0, {"time": 0.0, "state": {}, "scenario": "s",
                                                                  "rng": 1})])
    files = [media_root(app) / track.file for track in rec.tracks]
    assert all(path.exists() for path in files)

    response = await client.delete("/api/recordings/R1", headers=tokens.admin())
    assert response.status_code == 204 and response.content == b""
    assert not any(path.exists() for path in files)
    assert not (media_root(app) / "R1").exists()  # its emptied directory goes too
    assert all((media_root(app) / track.file).exists() for track in keep.tracks)
    assert await log.read("L1") == []
    assert [e.body["text"] for e in await log.read("L7")] == ["stays"]
    assert (await client.get("/api/recordings/R1", headers=tokens.admin())).status_code == 404
    assert (await client.delete("/api/recordings/R1", headers=tokens.admin())).status_code == 404


async def test_delete_keeps_what_another_recording_of_the_lesson_needs(app: Starlette, client: httpx.AsyncClient,
                                                                       tokens: Tokens) -> None:
    # The lesson was interrupted and recorded again: R1 [0, 100) and R2 [200, 300) on the wall clock.
    await seed(app, recording("R1", started_at=STARTED_AT, ended_at=STARTED_AT + 100))
    await seed(app, recording("R2", started_at=STARTED_AT + 200, ended_at=STARTED_AT + 300))
    log = app.state.training_log
    for at in (10, 150, 250):
        await append_lesson_event(log, "L1", "chat", {"text": str(at)}, at=STARTED_AT + at)
    await log.append([Event("L1", STARTED_AT + 90, "snapshot", 3, {"time": 90.0, "state": {"v": 1},
                                                                   "scenario": "s", "rng": 1})])
    response = await client.delete("/api/recordings/R1", headers=tokens.admin())
    assert response.status_code == 204
    left = await log.read("L1")
    # R1's chat is gone; the gap's chat and R2's window stay, and so does the snapshot R2's start needs.
    assert sorted((e.kind, round(e.at - STARTED_AT)) for e in left) == [("chat", 150), ("chat", 250),
                                                                        ("snapshot", 90)]
    state = await client.get("/api/recordings/R2/state?t=0", headers=tokens.admin())
    assert state.json() == {"t": 0.0, "revision": 3, "state": {"v": 1}}


async def test_a_recording_in_progress_cannot_be_deleted(app: Starlette, client: httpx.AsyncClient,
                                                         tokens: Tokens) -> None:
    await seed(app, recording("R1", ended_at=None, status=RecordingStatus.RECORDING))
    response = await client.delete("/api/recordings/R1", headers=tokens.admin())
    assert response.status_code == 409
    assert all(p.exists() for p in (media_root(app) / "R1").iterdir())


async def test_start_up_marks_recordings_left_in_progress_interrupted(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    store = SqlRecordingStore(SqliteDatabase(settings.data_dir / "recordings.db", RECORDINGS_SCHEMA))
    await store.open()
    await store.create(recording("R1", ended_at=None, status=RecordingStatus.RECORDING))
    await store.create(recording("R2"))
    await store.close()  # the process died while R1 was recording

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        statuses = {r.id: r.status for r in await app.state.recordings.list()}
    assert statuses == {"R1": RecordingStatus.INTERRUPTED, "R2": RecordingStatus.COMPLETE}


async def test_lifespan_opens_the_timeline_on_the_training_log_file(app: Starlette) -> None:
    timeline: LessonTimeline = app.state.lesson_timeline
    await append_lesson_event(app.state.training_log, "L1", "marker", {"label": "m"}, at=STARTED_AT + 1)
    events = await timeline.timeline("L1", 0, 10, STARTED_AT)
    assert [(e.t, e.kind, e.body) for e in events] == [(1.0, "marker", {"label": "m"})]
