"""The directory HTTP API: every route, its authorisation matrix, validation and the roster import.

Run against the real app through the shared ``client`` and ``tokens`` fixtures of ``tests/conftest.py``.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest

from classroom.roster import MAX_ROSTER_BYTES, MAX_ROSTER_COLUMNS, MAX_ROSTER_ROWS, Roster, parse_roster
from server.directory import service as directory_service
from tests.support.tokens import Tokens

pytestmark = pytest.mark.asyncio

Headers = dict[str, str]


def assert_error(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    message = response.json()["error"]["message"]
    assert all(word in message for word in words), message


class World:
    """Three schools: east teaches, west and far are partners; each has an admin and a teacher."""

    def __init__(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        self.client = client
        self.tokens = tokens
        self.east = tokens.admin("east-admin", school="east")
        self.west = tokens.admin("west-admin", school="west")
        self.far = tokens.admin("far-admin", school="far")
        self.east_teacher = tokens.teacher("alice", school="east")
        self.west_teacher = tokens.teacher("wang", school="west")
        self.li = tokens.student("YN-000001", school="west")
        self.ana = tokens.student("YN-000002", school="west")
        self.room = tokens.classroom("west-1", school="west")

    async def call(self, method: str, path: str, headers: Headers, body: Any = None) -> httpx.Response:
        return await self.client.request(method, path, headers=headers, json=body)

    async def ok(self, method: str, path: str, headers: Headers, body: Any = None) -> Any:
        response = await self.call(method, path, headers, body)
        assert response.status_code in (200, 201, 204), response.text
        return response.json() if response.content else None

    async def seed(self) -> None:
        for school, admin in (("east", self.east), ("west", self.west), ("far", self.far)):
            await self.ok("PUT", f"/api/schools/{school}", admin, {"name": school.title()})
        for room, admin in (("west-1", self.west), ("west-2", self.west), ("far-1", self.far)):
            await self.ok("POST", "/api/classrooms", admin, {"id": room, "name": room.upper()})
        await self.ok("POST", "/api/courses", self.east, {"id": "mould-101", "title": "Mould design", "credits": "1.5"})
        for code, name, room, admin in (("YN-000001", "李四", "west-1", self.west),
                                        ("YN-000002", "Ana", "west-2", self.west),
                                        ("FAR-000001", "Bo", "far-1", self.far)):
            await self.ok("POST", "/api/students", admin, {"code": code, "name": name, "classroom": room})

    async def enrolled(self) -> list[str]:
        found = await self.ok("GET", "/api/courses/mould-101/enrolments", self.east)
        return [student["code"] for student in found["students"]]

    async def roster(self, text: str, headers: Headers | None = None, query: str = "",
                     content_type: str = "text/csv") -> httpx.Response:
        return await self.client.post(f"/api/roster{query}", content=text.encode(),
                                      headers={**(headers or self.west), "Content-Type": content_type})


@pytest.fixture
async def world(client: httpx.AsyncClient, tokens: Tokens) -> World:
    seeded = World(client, tokens)
    await seeded.seed()
    return seeded


# --- authentication --------------------------------------------------------------------------------

ROUTES = [
    ("GET", "/api/schools"), ("PUT", "/api/schools/east"), ("GET", "/api/schools/east"),
    ("POST", "/api/classrooms"), ("GET", "/api/classrooms"),
    ("POST", "/api/students"), ("GET", "/api/students"), ("GET", "/api/students/YN-000001"),
    ("PATCH", "/api/students/YN-000001"),
    ("POST", "/api/courses"), ("GET", "/api/courses"), ("GET", "/api/courses/mould-101"),
    ("POST", "/api/courses/mould-101/enrolments"), ("GET", "/api/courses/mould-101/enrolments"),
    ("DELETE", "/api/courses/mould-101/enrolments/YN-000001"), ("POST", "/api/roster"),
]


@pytest.mark.parametrize("method,path", ROUTES)
async def test_every_directory_route_needs_a_valid_token(world: World, method: str, path: str) -> None:
    assert_error(await world.client.request(method, path), 401, "missing")
    assert_error(await world.client.request(method, path, headers={"Authorization": "Bearer nope"}), 401, "invalid")


# --- schools ---------------------------------------------------------------------------------------

async def test_an_admin_registers_then_renames_their_school(client: httpx.AsyncClient, tokens: Tokens) -> None:
    admin = tokens.admin(school="nujiang")
    created = await client.put("/api/schools/nujiang", json={"name": "怒江", "region": "云南"}, headers=admin)
    assert created.status_code == 201 and created.headers["location"] == "/api/schools/nujiang"
    assert created.json() == {"id": "nujiang", "name": "怒江", "region": "云南"}
    renamed = await client.put("/api/schools/nujiang", json={"name": "怒江职校"}, headers=admin)
    assert renamed.status_code == 200 and renamed.json() == {"id": "nujiang", "name": "怒江职校", "region": None}


async def test_any_token_reads_schools(world: World) -> None:
    listed = await world.ok("GET", "/api/schools", world.li)
    assert [school["id"] for school in listed["schools"]] == ["east", "far", "west"]
    assert (await world.ok("GET", "/api/schools/west", world.room))["name"] == "West"
    assert_error(await world.call("GET", "/api/schools/nowhere", world.li), 404, "nowhere")


@pytest.mark.parametrize("who", ["far", "east_teacher", "li", "room"])
async def test_only_the_schools_own_admin_registers_it(world: World, who: str) -> None:
    assert_error(await world.call("PUT", "/api/schools/west", getattr(world, who), {"name": "Hijacked"}), 403)
    assert (await world.ok("GET", "/api/schools/west", world.li))["name"] == "West"


@pytest.mark.parametrize(
    "body,field",
    [({}, "name"), ({"name": 7}, "name"), ({"name": "W", "region": ["x"]}, "region"),
     ({"name": "W", "motto": "x"}, "motto"), ({"name": ""}, "name")],
)
async def test_a_bad_school_body_is_400_naming_the_field_and_changes_nothing(
    world: World, body: dict[str, Any], field: str
) -> None:
    assert_error(await world.call("PUT", "/api/schools/west", world.west, body), 400, field)
    assert (await world.ok("GET", "/api/schools/west", world.li))["name"] == "West"


async def test_a_body_that_is_not_json_is_refused(world: World) -> None:
    bad_json = await world.client.put("/api/schools/west", content=b"{name", headers={
        **world.west, "Content-Type": "application/json"})
    assert_error(bad_json, 400, "JSON")
    not_object = await world.call("PUT", "/api/schools/west", world.west, ["West"])
    assert_error(not_object, 400, "object")
    wrong_type = await world.client.put("/api/schools/west", content=b"name=W", headers={
        **world.west, "Content-Type": "application/x-www-form-urlencoded"})
    assert_error(wrong_type, 415)
    too_big = await world.call("PUT", "/api/schools/west", world.west, {"name": "W" * 20_000})
    assert_error(too_big, 413)


# --- classrooms ------------------------------------------------------------------------------------

async def test_an_admin_adds_classrooms_to_their_own_school(world: World) -> None:
    created = await world.call("POST", "/api/classrooms", world.west, {"id": "west-3", "name": "三班"})
    assert created.status_code == 201 and created.json() == {"id": "west-3", "school": "west", "name": "三班"}


async def test_classroom_ids_are_unique_and_the_school_must_be_registered(
    world: World, tokens: Tokens
) -> None:
    assert_error(await world.call("POST", "/api/classrooms", world.far, {"id": "west-1", "name": "x"}), 409, "west-1")
    unregistered = tokens.admin(school="nowhere")
    assert_error(await world.call("POST", "/api/classrooms", unregistered, {"id": "n-1", "name": "x"}), 409,
                 "not registered")


@pytest.mark.parametrize(
    "body,status,field",
    [({"id": "a b", "name": "x"}, 400, "id"), ({"id": "w-9"}, 400, "name"),
     ({"id": "w-9", "name": "x", "school": "far"}, 400, "school")],
)
async def test_a_bad_classroom_body_is_refused(world: World, body: dict[str, Any], status: int, field: str) -> None:
    assert_error(await world.call("POST", "/api/classrooms", world.west, body), status, field)


@pytest.mark.parametrize("who", ["east_teacher", "li", "room"])
async def test_only_admins_add_classrooms(world: World, who: str) -> None:
    assert_error(await world.call("POST", "/api/classrooms", getattr(world, who), {"id": "x-1", "name": "x"}), 403)


async def test_admins_and_teachers_list_classrooms(world: World) -> None:
    everything = await world.ok("GET", "/api/classrooms", world.east_teacher)
    assert [room["id"] for room in everything["classrooms"]] == ["far-1", "west-1", "west-2"]
    west = await world.client.get("/api/classrooms", params={"school": "west"}, headers=world.far)
    assert [room["id"] for room in west.json()["classrooms"]] == ["west-1", "west-2"]
    assert_error(await world.call("GET", "/api/classrooms", world.li), 403)
    assert_error(await world.call("GET", "/api/classrooms", world.room), 403)


# --- students --------------------------------------------------------------------------------------

async def test_an_admin_registers_a_student_with_the_code_in_upper_case(world: World) -> None:
    created = await world.call("POST", "/api/students", world.west, {"code": "yn-000003", "name": "马", "classroom":
                                                                      "west-2"})
    assert created.status_code == 201 and created.headers["location"] == "/api/students/YN-000003"
    assert created.json() == {"code": "YN-000003", "name": "马", "school": "west", "classroom": "west-2"}


@pytest.mark.parametrize(
    "body,status,words",
    [
        ({"code": "FAR-000001", "name": "Dup", "classroom": "west-1"}, 409, ["FAR-000001", "already"]),
        ({"code": "yn-000001", "name": "Dup", "classroom": "west-1"}, 409, ["YN-000001"]),
        ({"code": "YN-000003", "name": "Ma", "classroom": "far-1"}, 409, ["far-1", "not a classroom of west"]),
        ({"code": "YN-000003", "name": "Ma", "classroom": "nowhere"}, 409, ["nowhere"]),
        ({"code": "YN 3", "name": "Ma", "classroom": "west-1"}, 400, ["code"]),
        ({"code": 3, "name": "Ma", "classroom": "west-1"}, 400, ["code"]),
        ({"code": "YN-000003", "classroom": "west-1"}, 400, ["name"]),
        ({"code": "YN-000003", "name": "Ma", "classroom": "west-1", "school": "far"}, 400, ["school"]),
    ],
)
async def test_a_bad_student_is_refused_and_nothing_changes(
    world: World, body: dict[str, Any], status: int, words: list[str]
) -> None:
    assert_error(await world.call("POST", "/api/students", world.west, body), status, *words)
    listed = await world.ok("GET", "/api/students", world.west)
    assert [student["code"] for student in listed["students"]] == ["YN-000001", "YN-000002"]


@pytest.mark.parametrize("who", ["east_teacher", "li", "room"])
async def test_only_admins_register_students(world: World, who: str) -> None:
    body = {"code": "YN-000003", "name": "Ma", "classroom": "west-1"}
    assert_error(await world.call("POST", "/api/students", getattr(world, who), body), 403)


async def test_admins_list_only_their_own_schools_students(world: World) -> None:
    listed = await world.ok("GET", "/api/students", world.west)
    assert [student["code"] for student in listed["students"]] == ["YN-000001", "YN-000002"]
    one_room = await world.client.get("/api/students", params={"school": "west", "classroom": "west-2"},
                                      headers=world.west)
    assert [student["code"] for student in one_room.json()["students"]] == ["YN-000002"]
    other = await world.client.get("/api/students", params={"school": "west"}, headers=world.far)
    assert_error(other, 403)
    assert_error(await world.call("GET", "/api/students", world.west_teacher), 403)
    assert_error(await world.call("GET", "/api/students", world.li), 403)


async def test_a_student_reads_their_own_record(world: World) -> None:
    record = await world.ok("GET", "/api/students/yn-000001", world.li)
    assert record == {"code": "YN-000001", "name": "李四", "school": "west", "classroom": "west-1"}
    assert (await world.ok("GET", "/api/students/YN-000001", world.west))["name"] == "李四"


@pytest.mark.parametrize("who", ["ana", "far", "east", "west_teacher", "room"])
async def test_nobody_else_reads_a_students_record(world: World, who: str) -> None:
    assert_error(await world.call("GET", "/api/students/YN-000001", getattr(world, who)), 403)


async def test_an_unknown_student_is_404_for_an_admin_and_403_for_another_student(world: World) -> None:
    assert_error(await world.call("GET", "/api/students/YN-404404", world.west), 404, "YN-404404")
    assert_error(await world.call("GET", "/api/students/YN-404404", world.li), 403)


async def test_the_home_admin_edits_a_students_name_and_classroom(world: World) -> None:
    changed = await world.ok("PATCH", "/api/students/YN-000001", world.west, {"name": "李小四", "classroom": "west-2"})
    assert changed == {"code": "YN-000001", "name": "李小四", "school": "west", "classroom": "west-2"}
    renamed = await world.ok("PATCH", "/api/students/YN-000001", world.west, {"name": "Li"})
    assert renamed["classroom"] == "west-2" and renamed["name"] == "Li"


@pytest.mark.parametrize(
    "who,body,status,word",
    [
        ("far", {"name": "x"}, 403, "west"),
        ("east", {"name": "x"}, 403, "west"),
        ("li", {"name": "x"}, 403, "admins"),
        ("west", {}, 400, "name"),
        ("west", {"school": "far"}, 400, "school"),
        ("west", {"name": None}, 400, "name"),
        ("west", {"classroom": "far-1"}, 409, "far-1"),
        ("west", {"code": "YN-000009"}, 400, "code"),
    ],
)
async def test_a_refused_edit_changes_nothing(
    world: World, who: str, body: dict[str, Any], status: int, word: str
) -> None:
    assert_error(await world.call("PATCH", "/api/students/YN-000001", getattr(world, who), body), status, word)
    assert await world.ok("GET", "/api/students/YN-000001", world.li) == {
        "code": "YN-000001", "name": "李四", "school": "west", "classroom": "west-1"}


async def test_editing_an_unknown_student_is_404(world: World) -> None:
    assert_error(await world.call("PATCH", "/api/students/YN-404404", world.west, {"name": "x"}), 404)


# --- courses ---------------------------------------------------------------------------------------

async def test_an_admin_adds_a_course_of_their_school_and_anyone_reads_it(world: World) -> None:
    created = await world.call("POST", "/api/courses", world.east, {"id": "cnc-201", "title": "CNC", "credits": 2})
    assert created.status_code == 201 and created.headers["location"] == "/api/courses/cnc-201"
    assert created.json() == {"id": "cnc-201", "school": "east", "title": "CNC", "credits": "2.00",
                              "credits_centi": 200}
    assert (await world.ok("GET", "/api/courses/mould-101", world.room))["credits"] == "1.50"
    listed = await world.ok("GET", "/api/courses", world.li)
    assert [course["id"] for course in listed["courses"]] == ["cnc-201", "mould-101"]
    by_school = await world.client.get("/api/courses", params={"school": "west"}, headers=world.li)
    assert by_school.json() == {"courses": []}
    assert_error(await world.call("GET", "/api/courses/nope", world.li), 404, "nope")


@pytest.mark.parametrize(
    "who,body,status,word",
    [
        ("east", {"id": "c2", "title": "T", "credits": "1.234"}, 400, "credits"),
        ("east", {"id": "c2", "title": "T", "credits": 0}, 400, "credits"),
        ("east", {"id": "c2", "title": "T", "credits": "25"}, 400, "credits"),
        ("east", {"id": "c2", "title": "T"}, 400, "credits"),
        ("east", {"id": "c2", "credits": 1}, 400, "title"),
        ("east", {"id": "c2", "title": "T", "credits": 1, "school": "west"}, 400, "school"),
        ("east", {"id": "mould-101", "title": "T", "credits": 1}, 409, "mould-101"),
        ("east_teacher", {"id": "c2", "title": "T", "credits": 1}, 403, "admins"),
        ("li", {"id": "c2", "title": "T", "credits": 1}, 403, "admins"),
    ],
)
async def test_a_bad_course_is_refused_and_nothing_changes(
    world: World, who: str, body: dict[str, Any], status: int, word: str
) -> None:
    assert_error(await world.call("POST", "/api/courses", getattr(world, who), body), status, word)
    listed = await world.ok("GET", "/api/courses", world.li)
    assert listed["courses"] == [{"id": "mould-101", "school": "east", "title": "Mould design", "credits": "1.50",
                                  "credits_centi": 150}]


# --- enrolments ------------------------------------------------------------------------------------

async def test_the_course_schools_admin_enrols_students_of_any_school(world: World) -> None:
    result = await world.ok("POST", "/api/courses/mould-101/enrolments", world.east,
                            {"students": ["yn-000001", "FAR-000001", "YN-000001"]})
    assert result == {"course": "mould-101", "enrolled": ["YN-000001", "FAR-000001"], "already_enrolled": []}
    again = await world.ok("POST", "/api/courses/mould-101/enrolments", world.east, {"students": ["YN-000001"]})
    assert again == {"course": "mould-101", "enrolled": [], "already_enrolled": ["YN-000001"]}
    assert await world.enrolled() == ["FAR-000001", "YN-000001"]


async def test_a_home_schools_admin_enrols_their_own_students(world: World) -> None:
    await world.ok("POST", "/api/courses/mould-101/enrolments", world.west, {"students": ["YN-000001", "YN-000002"]})
    assert await world.enrolled() == ["YN-000001", "YN-000002"]


@pytest.mark.parametrize(
    "who,students,status,words",
    [
        ("west", ["YN-000001", "FAR-000001"], 403, ["FAR-000001"]),
        ("east", ["YN-000001", "YN-404404"], 400, ["YN-404404"]),
        ("east", ["YN-000001", "bad code"], 400, ["students[1]"]),
        ("east", [], 400, ["students"]),
        ("east", "YN-000001", 400, ["students"]),
        ("east", ["YN-000001", 7], 400, ["students[1]"]),
        ("east_teacher", ["YN-000001"], 403, ["admins"]),
        ("li", ["YN-000001"], 403, ["admins"]),
    ],
)
async def test_enrolment_is_all_or_nothing(world: World, who: str, students: Any, status: int,
                                           words: list[str]) -> None:
    body = {"students": students}
    response = await world.call("POST", "/api/courses/mould-101/enrolments", getattr(world, who), body)
    assert_error(response, status, *words)
    assert await world.enrolled() == []


async def test_enrolment_bodies_are_checked(world: World) -> None:
    body = {"students": ["YN-000001"], "course": "x"}
    assert_error(await world.call("POST", "/api/courses/mould-101/enrolments", world.east, body), 400, "course")
    too_many = {"students": [f"YN-{index:06d}" for index in range(1001)]}
    assert_error(await world.call("POST", "/api/courses/mould-101/enrolments", world.east, too_many), 400, "1000")
    assert_error(await world.call("POST", "/api/courses/nope/enrolments", world.east, {"students": ["YN-000001"]}),
                 404, "nope")


async def test_who_sees_which_enrolments(world: World) -> None:
    await world.ok("POST", "/api/courses/mould-101/enrolments", world.east,
                   {"students": ["YN-000001", "YN-000002", "FAR-000001"]})

    async def codes(headers: Headers) -> list[str]:
        found = await world.ok("GET", "/api/courses/mould-101/enrolments", headers)
        return [student["code"] for student in found["students"]]

    assert await codes(world.east) == ["FAR-000001", "YN-000001", "YN-000002"]
    assert await codes(world.east_teacher) == ["FAR-000001", "YN-000001", "YN-000002"]
    assert await codes(world.west) == ["YN-000001", "YN-000002"]
    assert await codes(world.far) == ["FAR-000001"]
    for headers in (world.west_teacher, world.li, world.room):
        assert_error(await world.call("GET", "/api/courses/mould-101/enrolments", headers), 403)
    assert_error(await world.call("GET", "/api/courses/nope/enrolments", world.east), 404)


async def test_unenrolment_follows_the_same_rule_and_is_idempotent(world: World) -> None:
    await world.ok("POST", "/api/courses/mould-101/enrolments", world.east, {"students": ["YN-000001", "FAR-000001"]})
    path = "/api/courses/mould-101/enrolments/"
    assert_error(await world.call("DELETE", path + "YN-000001", world.far), 403, "YN-000001")
    assert_error(await world.call("DELETE", path + "YN-000001", world.li), 403)
    assert (await world.call("DELETE", path + "yn-000001", world.west)).status_code == 204
    assert (await world.call("DELETE", path + "YN-000001", world.west)).status_code == 204
    assert (await world.call("DELETE", path + "FAR-000001", world.east)).status_code == 204
    assert await world.enrolled() == []
    assert_error(await world.call("DELETE", path + "YN-404404", world.east), 404)
    assert_error(await world.call("DELETE", "/api/courses/nope/enrolments/YN-000001", world.east), 404)


# --- roster import ---------------------------------------------------------------------------------

MIXED = (
    "\ufeffcode,name,classroom,course\n"
    "yn-000001,李四 (renamed),west-2,mould-101\n"  # row 1: existing, updated, enrolled
    "YN-000003,王五,west-1,\n"  # row 2: created
    "\n"  # row 3: blank, skipped
    "FAR-000001,Bo,west-1,\n"  # row 4: another school's code
    "YN-000004,Lost,nowhere,\n"  # row 5: unknown classroom
    "YN-000005,Ma,west-1,no-course\n"  # row 6: unknown course
    "bad,Xu,west-1,\n"  # row 7: bad code
    "YN-000003,Again,west-1,\n"  # row 8: repeats row 2
    "YN-000006,,west-1,\n"  # row 9: empty name
    "YN-000007,赵六,west-2,mould-101\n"  # row 10: created and enrolled
)


def summary(report: dict[str, Any]) -> tuple[int, int, int, list[tuple[int, str, str]]]:
    errors = [(error["row"], error["code"], error["field"]) for error in report["errors"]]
    return report["created"], report["updated"], report["enrolled"], errors


EXPECTED_ERRORS = [(4, "FAR-000001", "code"), (5, "YN-000004", "classroom"), (6, "YN-000005", "course"),
                   (7, "bad", "code"), (8, "YN-000003", "code"), (9, "YN-000006", "name")]


async def test_a_roster_applies_good_rows_and_reports_bad_ones_by_row(world: World) -> None:
    response = await world.roster(MIXED)
    assert response.status_code == 200, response.text
    assert summary(response.json()) == (2, 1, 2, EXPECTED_ERRORS)
    assert response.json()["dry_run"] is False
    assert all(error["message"] for error in response.json()["errors"])
    listed = await world.ok("GET", "/api/students", world.west)
    assert [(s["code"], s["name"], s["classroom"]) for s in listed["students"]] == [
        ("YN-000001", "李四 (renamed)", "west-2"), ("YN-000002", "Ana", "west-2"), ("YN-000003", "王五", "west-1"),
        ("YN-000007", "赵六", "west-2")]
    assert await world.enrolled() == ["YN-000001", "YN-000007"]
    assert (await world.ok("GET", "/api/students/FAR-000001", world.far))["school"] == "far"


async def test_a_dry_run_reports_the_same_and_changes_nothing(world: World) -> None:
    before = await world.ok("GET", "/api/students", world.west)
    response = await world.roster(MIXED, query="?dry_run=1")
    assert response.status_code == 200, response.text
    assert summary(response.json()) == (2, 1, 2, EXPECTED_ERRORS) and response.json()["dry_run"] is True
    assert await world.ok("GET", "/api/students", world.west) == before
    assert await world.enrolled() == []


async def test_importing_the_same_roster_twice_changes_nothing_the_second_time(world: World) -> None:
    await world.roster(MIXED)
    again = await world.roster(MIXED)
    assert summary(again.json()) == (0, 0, 0, EXPECTED_ERRORS)


@pytest.mark.parametrize(
    "text,headers,query,content_type,status,word",
    [
        ("code,name\nYN-000009,X\n", "west", "", "text/csv", 400, "classroom"),
        ("code,name,classroom,grade\n", "west", "", "text/csv", 400, "grade"),
        ("", "west", "", "text/csv", 400, "missing column(s): code, name, classroom"),
        ("code,name,classroom\n", "west", "", "application/json", 415, "text/csv"),
        ("code,name,classroom\n", "west", "", "text/csv; charset=latin-1", 415, "text/csv"),
        ("code,name,classroom\n", "west", "?dry_run=maybe", "text/csv", 400, "dry_run"),
        ("code,name,classroom\n", "west_teacher", "", "text/csv", 403, "admins"),
        ("code,name,classroom\n", "li", "", "text/csv", 403, "admins"),
    ],
)
async def test_a_refused_roster_changes_nothing(
    world: World, text: str, headers: str, query: str, content_type: str, status: int, word: str
) -> None:
    response = await world.roster(text + "YN-000009,X,west-1\n", getattr(world, headers), query, content_type)
    assert_error(response, status, word)
    assert (await world.call("GET", "/api/students/YN-000009", world.west)).status_code == 404


async def test_a_roster_over_the_limits_is_413(world: World) -> None:
    assert_error(await world.roster("code,name,classroom\n" + "x" * MAX_ROSTER_BYTES), 413, "bytes")
    rows = "".join(f"YN-{index:06d},S,west-1\n" for index in range(MAX_ROSTER_ROWS + 1))
    assert_error(await world.roster("code,name,classroom\n" + rows), 413, "rows")
    assert len((await world.ok("GET", "/api/students", world.west))["students"]) == 2


async def test_a_roster_with_20000_columns_is_refused_with_a_400_naming_the_limit(world: World) -> None:
    header = "code,name,classroom," + ",".join(f"c{index}" for index in range(20_000))
    response = await world.roster(header + "\nYN-000009,X,west-1\n")
    assert_error(response, 400, f"at most {MAX_ROSTER_COLUMNS} are allowed")


async def test_the_server_answers_other_requests_while_a_roster_is_parsed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parse blocks until /api/health has been answered: only possible if it runs off the event loop."""
    started, health_answered = threading.Event(), threading.Event()
    released: list[bool] = []

    def parse_after_health(data: bytes) -> Roster:
        started.set()
        released.append(health_answered.wait(timeout=10))  # on the loop this would freeze it for the 10 s
        return parse_roster(data)

    monkeypatch.setattr(directory_service, "parse_roster", parse_after_health)
    importing = asyncio.create_task(world.roster("code,name,classroom\nYN-000009,X,west-1\n"))
    assert await asyncio.to_thread(started.wait, 10)
    health = await world.client.get("/api/health")
    roster_done_before_health = importing.done()
    health_answered.set()
    response = await importing
    assert health.status_code == 200 and not roster_done_before_health
    assert released == [True]
    assert response.status_code == 200, response.text


async def test_a_roster_for_an_unregistered_school_is_409(world: World, tokens: Tokens) -> None:
    assert_error(await world.roster("code,name,classroom\n", tokens.admin(school="nowhere")), 409, "not registered")


async def test_a_charset_parameter_of_utf8_is_accepted(world: World) -> None:
    response = await world.roster("code,name,classroom\nYN-000009,X,west-1\n", content_type="text/csv; charset=utf-8")
    assert response.status_code == 200 and response.json()["created"] == 1
