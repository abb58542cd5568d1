"""A small east-west programme set up through the real API, with a settable clock.

east teaches course mould-101 (2 credits a lesson); west-1 has classrooms nujiang-1 and
nujiang-2 with students NJ-0001.. ; east has classroom east-lab with student EA-0001.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from classroom.roles import Role
from server.edge.app import create_app
from server.edge.settings import Settings
from tests.support.databases import drop_schema, postgres_url
from tests.support.tokens import Tokens

T0 = 1_800_000_000.0
COURSE = "mould-101"
WEST_ROOM, WEST_ROOM_2, EAST_ROOM = "nujiang-1", "nujiang-2", "east-lab"
WEST_STUDENTS = ("NJ-0001", "NJ-0002", "NJ-0003")
WEST_2_STUDENTS = ("NJ-0101",)
EAST_STUDENT = "EA-0001"


class Clock:
    """The server's wall clock in tests: ``clock.advance(60)``."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Programme:
    app: Starlette
    client: httpx.AsyncClient
    tokens: Tokens
    clock: Clock

    def admin(self, school: str) -> dict[str, str]:
        return self.tokens.admin(f"admin-{school}", school=school)

    def classroom(self, room: str = WEST_ROOM, school: str = "west-1", **kw: Any) -> dict[str, str]:
        return self.tokens.classroom(room, school=school, **kw)

    def student(self, code: str, school: str = "west-1") -> dict[str, str]:
        return self.tokens.student(code, school=school)

    def teacher(self) -> dict[str, str]:
        return self.tokens.teacher("alice", school="east")

    async def ok(self, method: str, url: str, headers: dict[str, str], **kw: Any) -> Any:
        response = await self.client.request(method, url, headers=headers, **kw)
        assert response.status_code < 300, (method, url, response.status_code, response.text)
        return response.json()

    async def start_lesson(self, course: str | None = COURSE) -> str:
        body: dict[str, Any] = {"title": "Mould making 3"}
        if course is not None:
            body["course"] = course
        lesson = await self.ok("POST", "/api/lessons", self.teacher(), json=body)
        await self.app.state.lessons.go_live(lesson["id"])
        return str(lesson["id"])

    async def end_lesson(self, lesson: str) -> None:
        await self.ok("POST", f"/api/lessons/{lesson}/end", self.teacher())

    def connect(self, lesson: str, room: str = WEST_ROOM, session: str | None = None) -> str:
        session = session or f"{room}-{self.clock.now}"
        self.app.state.connections.joined(lesson, room, session)
        return session

    def disconnect(self, session: str) -> None:
        self.app.state.connections.left(session)

    def wait(self, seconds: float, step: float = 15.0) -> None:
        """Let ``seconds`` pass with the server's heartbeats every ``step``."""
        while seconds > 0:
            self.clock.advance(min(step, seconds))
            seconds -= step
            self.app.state.connections.beat()

    async def tick(self, lesson: str, checked_in: tuple[str, ...] = (), checked_out: tuple[str, ...] = (),
                   room: str = WEST_ROOM, key: str | None = None) -> httpx.Response:
        headers = {**self.classroom(room), "Idempotency-Key": key or f"tick-{secrets.token_hex(6)}"}
        return await self.client.post(f"/api/lessons/{lesson}/presence", headers=headers,
                                      json={"checked_in": list(checked_in), "checked_out": list(checked_out)})

    async def attendance(self, lesson: str, school: str = "east") -> dict[str, Any]:
        data: dict[str, Any] = await self.ok("GET", f"/api/lessons/{lesson}/attendance", self.admin(school))
        return data

    async def row(self, lesson: str, code: str) -> dict[str, Any]:
        rows = {row["student"]: row for row in (await self.attendance(lesson))["students"]}
        return rows[code]

    async def credits(self, code: str, school: str = "west-1") -> dict[str, Any]:
        data: dict[str, Any] = await self.ok("GET", f"/api/students/{code}/credits", self.student(code, school))
        return data


async def _set_up(p: Programme) -> None:
    for school in ("east", "west-1"):
        await p.ok("PUT", f"/api/schools/{school}", p.admin(school), json={"name": school.title()})
    await p.ok("POST", "/api/courses", p.admin("east"), json={"id": COURSE, "title": "Mould making", "credits": 2})
    for room in (WEST_ROOM, WEST_ROOM_2):
        await p.ok("POST", "/api/classrooms", p.admin("west-1"), json={"id": room, "name": room})
    await p.ok("POST", "/api/classrooms", p.admin("east"), json={"id": EAST_ROOM, "name": "Lab"})
    people = [(code, WEST_ROOM, "west-1") for code in WEST_STUDENTS]
    people += [(code, WEST_ROOM_2, "west-1") for code in WEST_2_STUDENTS] + [(EAST_STUDENT, EAST_ROOM, "east")]
    for code, room, school in people:
        await p.ok("POST", "/api/students", p.admin(school), json={"code": code, "name": code, "classroom": room})
    await p.ok("POST", f"/api/courses/{COURSE}/enrolments", p.admin("east"),
               json={"students": [code for code, _room, _school in people]})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", "postgresql"])
async def programme(request: pytest.FixtureRequest, tmp_path: Any, clock: Clock) -> AsyncIterator[Programme]:
    """The whole programme on the embedded SQLite database, and again on a real PostgreSQL."""
    settings = Settings(data_dir=tmp_path / "var", level_thresholds="iron=2,bronze=4,silver=6,gold=8")
    if request.param == "postgresql":
        settings = replace(settings, database_url=postgres_url(), database_schema=f"t_{secrets.token_hex(6)}")
    app = create_app(settings, clock=clock)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                p = Programme(app, client, Tokens(app.state.tokens), clock)
                await _set_up(p)
                yield p
    finally:
        if settings.database_url is not None:
            drop_schema(settings.database_schema)


__all__ = ["COURSE", "EAST_ROOM", "EAST_STUDENT", "WEST_2_STUDENTS", "WEST_ROOM", "WEST_ROOM_2", "WEST_STUDENTS",
           "Clock", "Programme", "Role", "clock", "programme"]
