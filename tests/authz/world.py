"""One programme for the whole matrix module, built through the real API with a fixed clock.

east teaches mould-101 (2 credits) in classroom east-lab (student EA-0001, enrolled; EA-0002, not);
west teaches weld-201 in nujiang-1 (student NJ-0001). Lessons: ``live`` (east, alice, mould-101)
with east-lab connected and a roll call open; ``other`` (east, bob) for tokens scoped to another
lesson; ``ended`` (east) where EA-0001 earned 2 credits (recognised at once); ``west_ended`` (west,
weld-201) where EA-0001 earned credits pending at east, which has a recognition rule for them.
A complete recording of ``live`` with media files.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from server.edge.app import create_app
from server.edge.settings import Settings
from tests.support.programme import Clock, Programme
from tests.support.recordings import recording, seed
from tests.support.tokens import Tokens

__all__ = ["COURSE", "EAST_ROOM", "EAST_STUDENT", "SPARE_STUDENT", "WEST_COURSE", "WEST_ROOM", "World",
           "running_world"]

COURSE, WEST_COURSE = "mould-101", "weld-201"
EAST_ROOM, WEST_ROOM = "east-lab", "nujiang-1"
EAST_STUDENT, SPARE_STUDENT, WEST_STUDENT = "EA-0001", "EA-0002", "NJ-0001"


@dataclass
class World:
    p: Programme
    live: str = ""
    other: str = ""
    ended: str = ""
    west_ended: str = ""
    rollcall: str = ""
    recording: str = ""
    earned_seq: int = 0
    pending_seq: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def app(self) -> Starlette:
        return self.p.app

    @property
    def client(self) -> httpx.AsyncClient:
        return self.p.client

    def admin(self, school: str = "east") -> dict[str, str]:
        return self.p.tokens.admin("root", school=school)

    def teacher(self, lesson: str = "*") -> dict[str, str]:
        return self.p.tokens.teacher("alice", school="east", lesson=lesson)

    async def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of the credit bank's database (for checking that a refusal changed nothing)."""
        def query(tx: Any) -> list[tuple[Any, ...]]:
            return [tuple(row) for row in tx.all(sql, params)]
        found: list[tuple[Any, ...]] = await self.app.state.credits_db.read(query)
        return found

    async def new_live_lesson(self, teacher: str = "alice", school: str = "east", course: str | None = COURSE) -> str:
        body: dict[str, Any] = {"title": "Matrix lesson"}
        if course is not None:
            body["course"] = course
        lesson = await self.p.ok("POST", "/api/lessons", self.p.tokens.teacher(teacher, school=school), json=body)
        await self.app.state.lessons.go_live(lesson["id"])
        return str(lesson["id"])

    async def new_recording(self) -> str:
        rec, _files = await seed(self.app, recording(f"R{secrets.token_hex(4)}", self.live, course=COURSE))
        return rec.id


async def _directory(w: World) -> None:
    p = w.p
    for school in ("east", "west"):
        await p.ok("PUT", f"/api/schools/{school}", w.admin(school), json={"name": school.title()})
    await p.ok("POST", "/api/courses", w.admin("east"), json={"id": COURSE, "title": "Mould making", "credits": 2})
    await p.ok("POST", "/api/courses", w.admin("west"), json={"id": WEST_COURSE, "title": "Welding", "credits": 2})
    await p.ok("POST", "/api/classrooms", w.admin("east"), json={"id": EAST_ROOM, "name": "Lab"})
    await p.ok("POST", "/api/classrooms", w.admin("west"), json={"id": WEST_ROOM, "name": "Room 1"})
    for code, room, school in ((EAST_STUDENT, EAST_ROOM, "east"), (SPARE_STUDENT, EAST_ROOM, "east"),
                               (WEST_STUDENT, WEST_ROOM, "west")):
        await p.ok("POST", "/api/students", w.admin(school), json={"code": code, "name": code, "classroom": room})
    await p.ok("POST", f"/api/courses/{COURSE}/enrolments", w.admin("east"),
               json={"students": [EAST_STUDENT, WEST_STUDENT]})
    await p.ok("POST", f"/api/courses/{WEST_COURSE}/enrolments", w.admin("west"), json={"students": [EAST_STUDENT]})
    await p.ok("POST", "/api/recognition-rules", w.admin("east"),
               json={"lesson_school": "west", "course": WEST_COURSE, "home_course": "MJ-9", "factor_pct": 100})


async def _attended(w: World, lesson: str, teacher: dict[str, str]) -> None:
    """east-lab attends ``lesson`` for an hour with EA-0001 checked in; then the lesson ends."""
    p = w.p
    session = p.connect(lesson, EAST_ROOM)
    headers = {**p.tokens.classroom(EAST_ROOM, school="east"), "Idempotency-Key": secrets.token_hex(6)}
    await p.ok("POST", f"/api/lessons/{lesson}/presence", headers, json={"checked_in": [EAST_STUDENT]})
    p.wait(3600)
    p.disconnect(session)
    await p.ok("POST", f"/api/lessons/{lesson}/end", teacher)


async def _ledger(w: World) -> None:
    w.ended = await w.new_live_lesson()
    await _attended(w, w.ended, w.teacher())
    w.west_ended = await w.new_live_lesson("wendy", "west", WEST_COURSE)
    await _attended(w, w.west_ended, w.p.tokens.teacher("wendy", school="west"))
    books = await w.p.ok("GET", "/api/ledger/entries?school=east", w.admin("east"))
    w.earned_seq = next(e["seq"] for e in books["entries"] if e["kind"] == "earned")
    pending = await w.p.ok("GET", "/api/recognitions?status=pending", w.admin("east"))
    w.pending_seq = next(r["earned_seq"] for r in pending["recognitions"] if r["student"] == EAST_STUDENT)


async def _live(w: World) -> None:
    w.live = await w.new_live_lesson()
    w.other = await w.new_live_lesson("bob")
    w.p.connect(w.live, EAST_ROOM, session="east-lab-matrix")
    opened = await w.p.ok("POST", f"/api/lessons/{w.live}/rollcalls", w.teacher())
    w.rollcall = opened["rollcall"]
    w.recording = await w.new_recording()


@asynccontextmanager
async def running_world(data_dir: Path) -> AsyncIterator[World]:
    """The app (SQLite, fixed clock) with the programme above; closed afterwards."""
    clock = Clock()
    app = create_app(Settings(data_dir=data_dir), clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            world = World(Programme(app, client, Tokens(app.state.tokens), clock))
            await _directory(world)
            await _ledger(world)
            await _live(world)
            yield world
