"""The expected outcome of every REST route for every principal, as data.

Each ``Case`` names the route, who is allowed (a predicate over the Principal), the success
statuses, how to make the request for one principal (a fresh resource where success would use
the shared one up), and what a refusal must leave unchanged.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tests.authz.principals import EAST, WEST, Principal
from tests.authz.world import COURSE, EAST_ROOM, EAST_STUDENT, SPARE_STUDENT, WEST_COURSE, WEST_ROOM, World

__all__ = ["CASES", "Case", "Request"]


@dataclass(frozen=True)
class Request:
    url: str
    lesson: str
    """the lesson a lesson-scoped token is scoped to (the resource's lesson)"""
    kwargs: dict[str, Any] = field(default_factory=dict)
    observe: Callable[[], Awaitable[Any]] | None = None
    """state that a refused request must leave unchanged"""


Prepare = Callable[[World, Principal], Awaitable[Request]]
Allowed = Callable[[Principal], bool]


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    allowed: Allowed
    ok: frozenset[int]
    prepare: Prepare
    refused: Callable[[Principal], int] = lambda _p: 403
    public: bool = False

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    def expected(self, principal: Principal | None) -> frozenset[int]:
        if principal is None:
            return self.ok if self.public else frozenset({401})
        return self.ok if self.allowed(principal) else frozenset({self.refused(principal)})


def _ok(*codes: int) -> frozenset[int]:
    return frozenset(codes)


def fixed(template: str, lesson: Callable[[World], str] = lambda w: w.live, body: dict[str, Any] | None = None,
          observe: Callable[[World], Awaitable[Any]] | None = None) -> Prepare:
    """A request on the shared resources: ``{live}``, ``{ended}``, ``{recording}``... in the template."""
    async def prepare(w: World, p: Principal) -> Request:
        url = template.format(**_names(w))
        kwargs = {"json": body} if body is not None else {}
        return Request(url, lesson(w), kwargs, (lambda: observe(w)) if observe else None)
    return prepare


def _names(w: World) -> dict[str, Any]:
    return {"live": w.live, "ended": w.ended, "recording": w.recording, "rollcall": w.rollcall,
            "earned": w.earned_seq, "pending": w.pending_seq, "course": COURSE, "student": EAST_STUDENT,
            "spare": SPARE_STUDENT}


# --- who is who -------------------------------------------------------------------------------------


def everyone(p: Principal) -> bool:
    return True


def lesson_teacher(p: Principal) -> bool:
    return p.is_("teacher") and p.covers


def lesson_teacher_or_admin(p: Principal) -> bool:
    return (p.is_("teacher") or p.admin_of(EAST)) and p.covers


def lesson_admin(p: Principal) -> bool:
    return p.admin_of(EAST) and p.covers


def lesson_classroom(p: Principal) -> bool:
    return p.is_("classroom") and p.covers


def lesson_student(p: Principal) -> bool:
    return p.is_("student") and p.covers


def school_admin(p: Principal) -> bool:
    """Administration of the resource's school: an admin of east with an all-lessons token."""
    return p.admin_of(EAST) and p.all_lessons


def any_school_admin(p: Principal) -> bool:
    """An admin acting on their own school (the body names it): any school, all-lessons token."""
    return p.kind == "admin" and p.all_lessons


def the_student_or_school_admin(p: Principal) -> bool:
    return p.is_("student") or school_admin(p)


def attendance_reader(p: Principal) -> bool:
    return p.covers and (p.is_("teacher") or p.kind == "admin")


def viewer(p: Principal) -> bool:
    """WHEP: every role whose scope covers the lesson; of teachers, only the lesson's own."""
    return p.covers and (p.kind in ("classroom", "student", "admin") or p.is_("teacher"))


def replayer(p: Principal) -> bool:
    """classroom.recordings.can_replay for a recording of the live lesson (east, mould-101)."""
    if not p.covers:
        return False
    if p.kind in ("teacher", "other-teacher", "admin"):
        return p.east
    if p.scope != "all-lessons":
        return True  # a token for exactly that lesson, from any school
    return p.east  # EA-0001 is enrolled in the course; east-lab attended and is of the school


def creator(p: Principal) -> bool:
    return p.kind in ("teacher", "other-teacher", "admin") and p.all_lessons


def directory_reader(p: Principal) -> bool:
    return p.kind in ("teacher", "other-teacher", "admin") and p.all_lessons


def enrolment_reader(p: Principal) -> bool:
    return p.all_lessons and (p.kind == "admin" or (p.kind in ("teacher", "other-teacher") and p.east))


def credits_reader(p: Principal) -> bool:
    """EA-0001 has entries in west's books too (the west lesson): a west admin sees those."""
    return p.is_("student") or any_school_admin(p)


# --- requests that need a fresh resource or a per-principal body -----------------------------------


async def _count(w: World, sql: str, *params: Any) -> int:
    return int((await w.rows(sql, *params))[0][0])


def _ledger_size(w: World) -> Awaitable[int]:
    return _count(w, "SELECT COUNT(*) FROM ledger_entries")


def _events(w: World) -> Awaitable[int]:
    return _count(w, "SELECT COUNT(*) FROM presence_events WHERE lesson = ?", w.live)


def _corrections(w: World) -> Awaitable[list[Any]]:
    return w.rows("SELECT (SELECT COUNT(*) FROM attendance_overrides), (SELECT COUNT(*) FROM attendance_excuses)")


async def _lesson_state(w: World, lesson: str) -> str:
    return str((await w.app.state.lessons.get(lesson)).state.value)


async def create_lesson(w: World, p: Principal) -> Request:
    body: dict[str, Any] = {"title": "Matrix", "course": COURSE if p.school == "east" else WEST_COURSE}
    if p.kind == "admin":
        body["teacher"] = "alice"
    return Request("/api/lessons", w.live, {"json": body}, lambda: _count_lessons(w))


async def _count_lessons(w: World) -> int:
    return len(await w.app.state.lessons.store.list(None))


async def end_lesson(w: World, p: Principal) -> Request:
    lesson = await w.new_live_lesson()
    return Request(f"/api/lessons/{lesson}/end", lesson, {}, lambda: _lesson_state(w, lesson))


async def roster_tick(w: World, p: Principal) -> Request:
    headers = {"Idempotency-Key": secrets.token_hex(6)}
    return Request(f"/api/lessons/{w.live}/presence", w.live,
                   {"json": {"checked_in": [EAST_STUDENT]}, "headers": headers}, lambda: _events(w))


async def self_checkin(w: World, p: Principal) -> Request:
    screen = await w.p.ok("GET", f"/api/lessons/{w.live}/checkin-code",
                          w.p.tokens.classroom(EAST_ROOM, school="east"))
    return Request(f"/api/lessons/{w.live}/checkin", w.live,
                   {"json": {"classroom": EAST_ROOM, "code": screen["code"]}}, lambda: _events(w))


async def reverse(w: World, p: Principal) -> Request:
    return Request(f"/api/ledger/entries/{w.earned_seq}/reversal", w.live,
                   {"json": {"reason": "matrix"}}, lambda: _ledger_size(w))


async def decide(w: World, p: Principal) -> Request:
    return Request(f"/api/recognitions/{w.pending_seq}/post", w.live, {"json": {}}, lambda: _ledger_size(w))


async def put_rule(w: World, p: Principal) -> Request:
    other, course = (WEST, WEST_COURSE) if p.east else (EAST, COURSE)
    body = {"lesson_school": other, "course": course, "home_course": "MJ-9", "factor_pct": 100}
    return Request("/api/recognition-rules", w.live, {"json": body},
                   lambda: _count(w, "SELECT COUNT(*) FROM recognition_rules"))


async def repost(w: World, p: Principal) -> Request:
    return Request(f"/api/lessons/{w.ended}/credits", w.ended, {}, lambda: _ledger_size(w))


async def put_school(w: World, p: Principal) -> Request:
    return Request("/api/schools/east", w.live, {"json": {"name": f"East {p.id}"}},
                   lambda: w.rows("SELECT name FROM schools WHERE id = 'east'"))


def _room_of(p: Principal) -> str:
    return EAST_ROOM if p.east else WEST_ROOM


async def add_classroom(w: World, p: Principal) -> Request:
    return Request("/api/classrooms", w.live, {"json": {"id": f"room-{secrets.token_hex(4)}", "name": "Room"}},
                   lambda: _count(w, "SELECT COUNT(*) FROM classrooms"))


def _new_code() -> str:
    return f"MX-{secrets.token_hex(4).upper()}"


async def add_student(w: World, p: Principal) -> Request:
    body = {"code": _new_code(), "name": "New", "classroom": _room_of(p)}
    return Request("/api/students", w.live, {"json": body}, lambda: _count(w, "SELECT COUNT(*) FROM students"))


async def patch_student(w: World, p: Principal) -> Request:
    return Request(f"/api/students/{EAST_STUDENT}", w.live, {"json": {"name": f"Renamed {p.id}"[:100]}},
                   lambda: w.rows("SELECT name, classroom FROM students WHERE code = ?", EAST_STUDENT))


async def add_course(w: World, p: Principal) -> Request:
    body = {"id": f"course-{secrets.token_hex(4)}", "title": "New", "credits": 1}
    return Request("/api/courses", w.live, {"json": body}, lambda: _count(w, "SELECT COUNT(*) FROM courses"))


def _enrolments(w: World) -> Awaitable[int]:
    return _count(w, "SELECT COUNT(*) FROM enrolments")


async def enrol(w: World, p: Principal) -> Request:
    return Request(f"/api/courses/{COURSE}/enrolments", w.live, {"json": {"students": [SPARE_STUDENT]}},
                   lambda: _enrolments(w))


async def unenrol(w: World, p: Principal) -> Request:
    await w.p.ok("POST", f"/api/courses/{COURSE}/enrolments", w.admin("east"), json={"students": [SPARE_STUDENT]})
    return Request(f"/api/courses/{COURSE}/enrolments/{SPARE_STUDENT}", w.live, {}, lambda: _enrolments(w))


async def import_roster(w: World, p: Principal) -> Request:
    csv = f"code,name,classroom\n{_new_code()},Imported,{_room_of(p)}\n".encode()
    return Request("/api/roster", w.live, {"content": csv, "headers": {"Content-Type": "text/csv"}},
                   lambda: _count(w, "SELECT COUNT(*) FROM students"))


async def add_chapter(w: World, p: Principal) -> Request:
    async def chapters() -> int:
        return len((await w.app.state.recordings.get(w.recording)).chapters)
    return Request(f"/api/recordings/{w.recording}/chapters", w.live, {"json": {"at_s": 1, "title": "Here"}},
                   chapters)


async def delete_recording(w: World, p: Principal) -> Request:
    recording = await w.new_recording()

    async def exists() -> bool:
        return recording in {r.id for r in await w.app.state.recordings.list(lesson_id=w.live)}
    return Request(f"/api/recordings/{recording}", w.live, {}, exists)


CASES: list[Case] = [
    # lessons (README "Lessons API")
    Case("GET", "/api/health", everyone, _ok(200), fixed("/api/health"), public=True),
    Case("POST", "/api/lessons", creator, _ok(201), create_lesson,
         refused=lambda p: 400 if creator(p) else 403),  # west may not name east's course
    Case("GET", "/api/lessons", everyone, _ok(200), fixed("/api/lessons")),
    Case("GET", "/api/lessons/{id}", lambda p: p.covers, _ok(200), fixed("/api/lessons/{live}")),
    Case("POST", "/api/lessons/{id}/end", lesson_teacher_or_admin, _ok(200), end_lesson),
    # presence (docs/credit-bank.md "Presence")
    Case("GET", "/api/lessons/{id}/checkin-code", lesson_classroom, _ok(200),
         fixed("/api/lessons/{live}/checkin-code")),
    Case("POST", "/api/lessons/{id}/presence", lesson_classroom, _ok(200, 201), roster_tick),
    Case("GET", "/api/lessons/{id}/presence", lesson_teacher_or_admin, _ok(200), fixed("/api/lessons/{live}/presence")),
    Case("POST", "/api/lessons/{id}/checkin", lesson_student, _ok(200, 201), self_checkin),
    Case("POST", "/api/lessons/{id}/rollcalls", lesson_teacher, _ok(201),
         fixed("/api/lessons/{live}/rollcalls", observe=_events)),
    Case("POST", "/api/lessons/{id}/rollcalls/{rollcall}/answers", lesson_classroom, _ok(200, 201),
         fixed("/api/lessons/{live}/rollcalls/{rollcall}/answers", body={"present": [EAST_STUDENT]},
               observe=_events)),
    # attendance (docs/credit-bank.md "Attendance")
    Case("GET", "/api/lessons/{id}/attendance", attendance_reader, _ok(200), fixed("/api/lessons/{live}/attendance")),
    Case("GET", "/api/lessons/{id}/attendance.csv", attendance_reader, _ok(200),
         fixed("/api/lessons/{live}/attendance.csv")),
    Case("GET", "/api/lessons/{id}/attendance/xapi", attendance_reader, _ok(200),
         fixed("/api/lessons/{live}/attendance/xapi")),
    Case("POST", "/api/lessons/{id}/attendance/overrides", lesson_admin, _ok(200, 201),
         fixed("/api/lessons/{live}/attendance/overrides",
               body={"student": EAST_STUDENT, "status": "present", "reason": "matrix"}, observe=_corrections)),
    Case("POST", "/api/lessons/{id}/attendance/excuses", lesson_admin, _ok(200, 201),
         fixed("/api/lessons/{live}/attendance/excuses", body={"student": EAST_STUDENT, "reason": "matrix"},
               observe=_corrections)),
    Case("GET", "/api/lessons/{id}/attendance/corrections", lesson_teacher_or_admin, _ok(200),
         fixed("/api/lessons/{live}/attendance/corrections")),
    Case("GET", "/api/students/{code}/attendance", the_student_or_school_admin, _ok(200),
         fixed("/api/students/{student}/attendance")),
    # the credit bank (docs/credit-bank.md "The ledger")
    Case("GET", "/api/students/{code}/credits", credits_reader, _ok(200), fixed("/api/students/{student}/credits")),
    Case("GET", "/api/ledger/entries", school_admin, _ok(200), fixed("/api/ledger/entries?school=east")),
    Case("POST", "/api/ledger/entries/{seq}/reversal", school_admin, _ok(200, 201), reverse),
    Case("GET", "/api/ledger/checkpoint", everyone, _ok(200), fixed("/api/ledger/checkpoint")),
    # publication for partner witnesses, and the node's metrics (docs/ledger.md "Witnesses")
    Case("GET", "/api/ledger/checkpoints", everyone, _ok(200), fixed("/api/ledger/checkpoints?since=0")),
    Case("GET", "/api/ledger/leaves", any_school_admin, _ok(200), fixed("/api/ledger/leaves?after=0&upto=5")),
    Case("GET", "/metrics", any_school_admin, _ok(200), fixed("/metrics")),
    Case("GET", "/api/recognitions", any_school_admin, _ok(200), fixed("/api/recognitions")),
    Case("POST", "/api/recognitions/{seq}/post", school_admin, _ok(200, 201), decide),
    Case("POST", "/api/recognition-rules", any_school_admin, _ok(201), put_rule),
    Case("GET", "/api/recognition-rules", any_school_admin, _ok(200), fixed("/api/recognition-rules")),
    Case("POST", "/api/lessons/{id}/credits", lesson_admin, _ok(200), repost),
    # the directory (docs/credits-api.md "Who may do what")
    Case("GET", "/api/schools", everyone, _ok(200), fixed("/api/schools")),
    Case("PUT", "/api/schools/{id}", school_admin, _ok(200), put_school),
    Case("GET", "/api/schools/{id}", everyone, _ok(200), fixed("/api/schools/east")),
    Case("POST", "/api/classrooms", any_school_admin, _ok(201), add_classroom),
    Case("GET", "/api/classrooms", directory_reader, _ok(200), fixed("/api/classrooms")),
    Case("POST", "/api/students", any_school_admin, _ok(201), add_student),
    Case("GET", "/api/students", school_admin, _ok(200), fixed("/api/students?school=east")),
    Case("GET", "/api/students/{code}", the_student_or_school_admin, _ok(200), fixed("/api/students/{student}")),
    Case("PATCH", "/api/students/{code}", school_admin, _ok(200), patch_student),
    Case("POST", "/api/courses", any_school_admin, _ok(201), add_course),
    Case("GET", "/api/courses", everyone, _ok(200), fixed("/api/courses")),
    Case("GET", "/api/courses/{id}", everyone, _ok(200), fixed("/api/courses/{course}")),
    Case("POST", "/api/courses/{id}/enrolments", school_admin, _ok(200), enrol),
    Case("GET", "/api/courses/{id}/enrolments", enrolment_reader, _ok(200), fixed("/api/courses/{course}/enrolments")),
    Case("DELETE", "/api/courses/{id}/enrolments/{code}", school_admin, _ok(204), unenrol),
    Case("POST", "/api/roster", any_school_admin, _ok(200), import_roster),
    # recordings (README "Recordings and replay")
    Case("GET", "/api/recordings", everyone, _ok(200), fixed("/api/recordings")),
    Case("GET", "/api/recordings/{id}", replayer, _ok(200), fixed("/api/recordings/{recording}")),
    Case("GET", "/api/recordings/{id}/media/{track}", replayer, _ok(200),
         fixed("/api/recordings/{recording}/media/teacher/camera")),
    Case("GET", "/api/recordings/{id}/timeline", replayer, _ok(200), fixed("/api/recordings/{recording}/timeline")),
    Case("GET", "/api/recordings/{id}/state", replayer, _ok(200), fixed("/api/recordings/{recording}/state?t=0")),
    Case("POST", "/api/recordings/{id}/chapters", lesson_teacher, _ok(201), add_chapter),
    Case("DELETE", "/api/recordings/{id}", lesson_admin, _ok(204), delete_recording),
    # ICE servers for a client's peer connections (docs/turn.md): any valid token
    Case("GET", "/api/ice-servers", everyone, _ok(200), fixed("/api/ice-servers")),
]


# --- WHIP and WHEP (README "Going live"; w.extra holds one publisher and one viewer offer) ---------

SDP = {"Content-Type": "application/sdp"}


def _sessions(w: World, kind: str) -> int:
    return sum(1 for s in w.app.state.live_media.sessions.values() if s.kind == kind and s.lesson_id == w.live)


def media_post(kind: str) -> Prepare:
    async def prepare(w: World, p: Principal) -> Request:
        offer = w.extra["publisher_offer" if kind == "whip" else "viewer_offer"]

        async def sessions() -> int:
            return _sessions(w, kind)
        return Request(f"/{kind}/{w.live}", w.live, {"content": offer, "headers": SDP}, sessions)
    return prepare


async def session_of(w: World, kind: str) -> str:
    """The id of a live WHIP session of the lesson's teacher, or WHEP session of EA-0001 (made if gone)."""
    known = w.extra.get(f"{kind}_session")
    if known in w.app.state.live_media.sessions:
        return str(known)
    owner = w.teacher() if kind == "whip" else w.p.tokens.student(EAST_STUDENT, school="east")
    offer = w.extra["publisher_offer" if kind == "whip" else "viewer_offer"]
    response = await w.client.post(f"/{kind}/{w.live}", content=offer, headers={**owner, **SDP})
    assert response.status_code == 201, response.text
    session = response.headers["Location"].rsplit("/", 1)[1]
    w.extra[f"{kind}_session"] = session
    return session


def media_session(kind: str) -> Prepare:
    async def prepare(w: World, p: Principal) -> Request:
        session = await session_of(w, kind)

        async def alive() -> bool:
            return session in w.app.state.live_media.sessions
        return Request(f"/{kind}/{w.live}/{session}", w.live, {}, alive)
    return prepare


def session_owner(kind: str) -> Allowed:
    return lesson_teacher if kind == "whip" else lesson_student


for _kind in ("whip", "whep"):
    CASES += [
        Case("POST", f"/{_kind}/{{id}}", lesson_teacher if _kind == "whip" else viewer, _ok(201), media_post(_kind)),
        Case("DELETE", f"/{_kind}/{{id}}/{{session}}", session_owner(_kind), _ok(200), media_session(_kind)),
        Case("PATCH", f"/{_kind}/{{id}}/{{session}}", everyone, _ok(405), media_session(_kind)),
        Case("OPTIONS", f"/{_kind}/{{id}}", everyone, _ok(204), fixed(f"/{_kind}/{{live}}"), public=True),
        Case("OPTIONS", f"/{_kind}/{{id}}/{{session}}", everyone, _ok(204), fixed(f"/{_kind}/{{live}}/x"),
             public=True),
    ]
