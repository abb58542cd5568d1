"""The lessons HTTP API: authentication, authorisation, validation and state transitions."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from tests.support.tokens import Tokens

pytestmark = pytest.mark.asyncio


async def create(client: httpx.AsyncClient, headers: dict[str, str], **body: object) -> httpx.Response:
    return await client.post("/api/lessons", json={"title": "Mould design", **body}, headers=headers)


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


async def test_health_needs_no_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def add_course(client: httpx.AsyncClient, tokens: Tokens, course: str, school: str = "east") -> None:
    admin = tokens.admin(school=school)
    registered = await client.put(f"/api/schools/{school}", json={"name": school.title()}, headers=admin)
    assert registered.status_code in (200, 201), registered.text
    added = await client.post("/api/courses", json={"id": course, "title": "Moulds", "credits": 2}, headers=admin)
    assert added.status_code == 201, added.text


async def test_teacher_creates_a_scheduled_lesson_with_location(client: httpx.AsyncClient, tokens: Tokens) -> None:
    await add_course(client, tokens, "mould-101")
    response = await create(client, tokens.teacher("alice"), course="mould-101")
    assert response.status_code == 201
    lesson = response.json()
    assert lesson["id"] and lesson["teacher"] == "alice" and lesson["school"] == "east"
    assert lesson["state"] == "scheduled" and lesson["recording"] is True and lesson["course"] == "mould-101"
    assert response.headers["location"] == f"/api/lessons/{lesson['id']}"


async def test_admin_creates_a_lesson_for_a_named_teacher(client: httpx.AsyncClient, tokens: Tokens) -> None:
    response = await create(client, tokens.admin(), teacher="bob", recording=False)
    assert response.status_code == 201
    assert response.json()["teacher"] == "bob" and response.json()["recording"] is False


async def test_admin_must_name_the_teacher(client: httpx.AsyncClient, tokens: Tokens) -> None:
    assert_error(await create(client, tokens.admin()), 400, "bad_request")


async def test_teacher_cannot_create_a_lesson_for_another_teacher(client: httpx.AsyncClient, tokens: Tokens) -> None:
    assert_error(await create(client, tokens.teacher("alice"), teacher="bob"), 403, "forbidden")


@pytest.mark.parametrize("role", ["student", "classroom"])
async def test_students_and_classrooms_cannot_create_lessons(
    client: httpx.AsyncClient, tokens: Tokens, role: str
) -> None:
    assert_error(await create(client, getattr(tokens, role)()), 403, "forbidden")


async def test_created_lesson_is_listed_and_readable(client: httpx.AsyncClient, tokens: Tokens) -> None:
    lesson = (await create(client, tokens.teacher())).json()
    listed = await client.get("/api/lessons", headers=tokens.classroom())
    assert [x["id"] for x in listed.json()["lessons"]] == [lesson["id"]]
    fetched = await client.get(f"/api/lessons/{lesson['id']}", headers=tokens.student(lesson=lesson["id"]))
    assert fetched.status_code == 200 and fetched.json() == lesson


async def test_lesson_scoped_token_lists_only_its_lesson(client: httpx.AsyncClient, tokens: Tokens) -> None:
    first = (await create(client, tokens.teacher())).json()
    await create(client, tokens.teacher(), title="Second")
    listed = await client.get("/api/lessons", headers=tokens.classroom(lesson=first["id"]))
    assert [x["id"] for x in listed.json()["lessons"]] == [first["id"]]


async def test_teachers_list_only_their_schools_lessons(client: httpx.AsyncClient, tokens: Tokens) -> None:
    await create(client, tokens.teacher())
    listed = await client.get("/api/lessons", headers=tokens.teacher("wang", school="west"))
    assert listed.json() == {"lessons": []}


async def test_unknown_lesson_is_404(client: httpx.AsyncClient, tokens: Tokens) -> None:
    assert_error(await client.get("/api/lessons/nope", headers=tokens.student()), 404, "not_found")


async def test_token_scoped_to_another_lesson_gets_403(client: httpx.AsyncClient, tokens: Tokens) -> None:
    lesson = (await create(client, tokens.teacher())).json()
    other = tokens.teacher("alice", lesson="some-other-lesson")
    assert_error(await client.get(f"/api/lessons/{lesson['id']}", headers=other), 403, "forbidden")
    assert_error(await client.post(f"/api/lessons/{lesson['id']}/end", headers=other), 403, "forbidden")


async def test_lesson_scoped_teacher_cannot_create_lessons(client: httpx.AsyncClient, tokens: Tokens) -> None:
    assert_error(await create(client, tokens.teacher(lesson="L1")), 403, "forbidden")


@pytest.mark.parametrize(
    "method,path",
    [("GET", "/api/lessons"), ("POST", "/api/lessons"), ("GET", "/api/lessons/x"), ("POST", "/api/lessons/x/end")],
)
async def test_every_lessons_route_needs_a_token(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, path)
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_expired_token_is_401(client: httpx.AsyncClient, app: Starlette) -> None:
    from server.edge.tokens import TokenCodec

    codec: TokenCodec = app.state.tokens
    past = TokenCodec(codec._secret, clock=lambda: 0.0)
    response = await client.get("/api/lessons", headers={"Authorization": f"Bearer {past.issue('a', 'admin', 'east')}"})
    assert_error(response, 401, "unauthorized")
    assert "expired" in response.json()["error"]["message"]


async def test_token_in_access_token_query_parameter_is_accepted(client: httpx.AsyncClient, tokens: Tokens) -> None:
    token = tokens.mint("student", "li")  # type: ignore[arg-type]
    assert (await client.get("/api/lessons", params={"access_token": token})).status_code == 200


async def test_wrong_content_type_is_415(client: httpx.AsyncClient, tokens: Tokens) -> None:
    headers = {**tokens.teacher(), "Content-Type": "text/plain"}
    response = await client.post("/api/lessons", content=b'{"title": "x"}', headers=headers)
    assert_error(response, 415, "unsupported_media_type")


async def test_json_with_charset_parameter_is_accepted(client: httpx.AsyncClient, tokens: Tokens) -> None:
    headers = {**tokens.teacher(), "Content-Type": "application/json; charset=utf-8"}
    assert (await client.post("/api/lessons", content=b'{"title": "x"}', headers=headers)).status_code == 201


@pytest.mark.parametrize(
    "body", [b"{not json", b"[1, 2]", b"\xff\xfe", b'{"title": ""}', b"{}", b'{"title": "x", "colour": 1}']
)
async def test_malformed_body_is_400_and_creates_nothing(
    client: httpx.AsyncClient, tokens: Tokens, body: bytes
) -> None:
    headers = {**tokens.teacher(), "Content-Type": "application/json"}
    assert_error(await client.post("/api/lessons", content=body, headers=headers), 400, "bad_request")
    assert (await client.get("/api/lessons", headers=tokens.admin())).json() == {"lessons": []}


async def test_oversized_body_is_413(client: httpx.AsyncClient, tokens: Tokens) -> None:
    response = await create(client, tokens.teacher(), course="c" * (17 * 1024))
    assert_error(response, 413, "payload_too_large")


async def test_oversized_streamed_body_without_length_is_413(client: httpx.AsyncClient, tokens: Tokens) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"x" * 1024

    headers = {**tokens.teacher(), "Content-Type": "application/json"}
    response = await client.post("/api/lessons", content=chunks(), headers=headers)
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "payload_too_large")


async def test_teacher_ends_own_lesson_and_second_end_is_409(client: httpx.AsyncClient, tokens: Tokens) -> None:
    lesson = (await create(client, tokens.teacher("alice"))).json()
    first = await client.post(f"/api/lessons/{lesson['id']}/end", headers=tokens.teacher("alice"))
    assert first.status_code == 200
    assert first.json()["state"] == "ended" and first.json()["ended_at"] is not None
    second = await client.post(f"/api/lessons/{lesson['id']}/end", headers=tokens.teacher("alice"))
    assert_error(second, 409, "invalid_transition")


async def test_admin_of_the_school_ends_a_lesson_but_not_another_schools(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    lesson = (await create(client, tokens.teacher("alice"))).json()
    path = f"/api/lessons/{lesson['id']}/end"
    assert_error(await client.post(path, headers=tokens.admin(school="west")), 403, "forbidden")
    assert (await client.post(path, headers=tokens.admin())).status_code == 200


@pytest.mark.parametrize("who", ["bob", "classroom", "student"])
async def test_others_cannot_end_a_teachers_lesson(client: httpx.AsyncClient, tokens: Tokens, who: str) -> None:
    lesson = (await create(client, tokens.teacher("alice"))).json()
    headers = tokens.teacher("bob") if who == "bob" else getattr(tokens, who)()
    assert_error(await client.post(f"/api/lessons/{lesson['id']}/end", headers=headers), 403, "forbidden")
    assert (await client.get(f"/api/lessons/{lesson['id']}", headers=headers)).json()["state"] == "scheduled"


async def test_ending_an_unknown_lesson_is_404(client: httpx.AsyncClient, tokens: Tokens) -> None:
    assert_error(await client.post("/api/lessons/nope/end", headers=tokens.admin()), 404, "not_found")


async def test_lesson_goes_live_then_ends_and_cannot_go_live_again(
    client: httpx.AsyncClient, tokens: Tokens, app: Starlette
) -> None:
    from classroom.errors import InvalidTransition

    lesson = (await create(client, tokens.teacher())).json()
    live = await app.state.lessons.go_live(lesson["id"])
    fetched = (await client.get(f"/api/lessons/{lesson['id']}", headers=tokens.student())).json()
    assert fetched["state"] == "live" and fetched["started_at"] == live.started_at
    await client.post(f"/api/lessons/{lesson['id']}/end", headers=tokens.teacher())
    with pytest.raises(InvalidTransition):
        await app.state.lessons.go_live(lesson["id"])


async def test_ending_a_lesson_notifies_listeners_once(
    client: httpx.AsyncClient, tokens: Tokens, app: Starlette
) -> None:
    ended: list[str] = []

    async def failing(lesson_id: str) -> None:
        raise RuntimeError("listener bug")

    async def record(lesson_id: str) -> None:
        ended.append(lesson_id)

    app.state.lessons.on_ended.extend([failing, record])
    lesson = (await create(client, tokens.teacher())).json()
    assert (await client.post(f"/api/lessons/{lesson['id']}/end", headers=tokens.teacher())).status_code == 200
    await client.post(f"/api/lessons/{lesson['id']}/end", headers=tokens.teacher())
    assert ended == [lesson["id"]]


async def test_unknown_route_gets_a_json_404(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/nothing-here"), 404, "not_found")


async def test_lessons_persist_across_app_restarts(settings, tokens: Tokens, client: httpx.AsyncClient) -> None:  # type: ignore[no-untyped-def]
    from server.edge.app import create_app

    lesson = (await create(client, tokens.teacher())).json()
    again = create_app(settings)
    async with again.router.lifespan_context(again):
        transport = httpx.ASGITransport(app=again)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as other:
            fetched = await other.get(f"/api/lessons/{lesson['id']}", headers=tokens.student())
    assert fetched.status_code == 200 and fetched.json()["title"] == "Mould design"


async def test_a_lesson_names_only_a_course_of_its_own_school(client: httpx.AsyncClient, tokens: Tokens) -> None:
    await add_course(client, tokens, "weld-201", school="west")
    before = (await client.get("/api/lessons", headers=tokens.teacher())).json()["lessons"]
    for course in ("weld-201", "no-such-course"):
        response = await create(client, tokens.teacher("alice"), course=course)
        assert_error(response, 400, "bad_request")
        assert course in response.json()["error"]["message"]
    assert (await client.get("/api/lessons", headers=tokens.teacher())).json()["lessons"] == before
