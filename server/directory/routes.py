"""Directory API: schools, classrooms, students, courses, enrolments, CSV roster import.

Thin: authenticate, read the bounded body, call the app's ``directory``, render. The rules are in
``server.directory.service``; the wire format is in ``docs/credits-api.md`` (Directory).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from classroom.access import Claims
from classroom.roles import Role
from classroom.roster import MAX_ROSTER_BYTES, RosterTooLarge
from server.edge.auth import require
from server.edge.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from server.edge.http_body import read_body, read_json_object
from server.edge.route_context import components, principal

__all__ = ["MAX_ENROL_BODY_BYTES", "routes"]

MAX_ENROL_BODY_BYTES = 64 * 1024
_TRUE = frozenset({"1", "true", "yes"})
_FALSE = frozenset({"", "0", "false", "no"})


def _admin(request: Request, action: str) -> Claims:
    claims = principal(request)
    require(claims.role is Role.ADMIN, f"only admins {action}")
    return claims


def _created(request: Request, body: dict[str, Any], route: str, **params: str) -> JSONResponse:
    location = str(request.url_for(route, **params).path)
    return JSONResponse(body, status_code=201, headers={"Location": location})


async def put_school(request: Request) -> JSONResponse:
    claims = _admin(request, "register schools")
    school, created = await components(request).directory.put_school(
        claims, request.path_params["school_id"], await read_json_object(request)
    )
    if created:
        return _created(request, school.to_json(), "get_school", school_id=school.id)
    return JSONResponse(school.to_json())


async def list_schools(request: Request) -> JSONResponse:
    found = await components(request).directory.schools(principal(request))
    return JSONResponse({"schools": [school.to_json() for school in found]})


async def get_school(request: Request) -> JSONResponse:
    school = await components(request).directory.school(principal(request), request.path_params["school_id"])
    return JSONResponse(school.to_json())


async def add_classroom(request: Request) -> JSONResponse:
    claims = _admin(request, "add classrooms")
    classroom = await components(request).directory.add_classroom(claims, await read_json_object(request))
    return JSONResponse(classroom.to_json(), status_code=201)


async def list_classrooms(request: Request) -> JSONResponse:
    found = await components(request).directory.classrooms(principal(request), request.query_params.get("school"))
    return JSONResponse({"classrooms": [classroom.to_json() for classroom in found]})


async def add_student(request: Request) -> JSONResponse:
    claims = _admin(request, "register students")
    student = await components(request).directory.add_student(claims, await read_json_object(request))
    return _created(request, student.to_json(), "get_student", code=student.code)


async def list_students(request: Request) -> JSONResponse:
    query, directory = request.query_params, components(request).directory
    found = await directory.students(principal(request), query.get("school"), query.get("classroom"))
    return JSONResponse({"students": [student.to_json() for student in found]})


async def get_student(request: Request) -> JSONResponse:
    student = await components(request).directory.student(principal(request), request.path_params["code"])
    return JSONResponse(student.to_json())


async def patch_student(request: Request) -> JSONResponse:
    claims = _admin(request, "edit students")
    body = await read_json_object(request)
    student = await components(request).directory.update_student(claims, request.path_params["code"], body)
    return JSONResponse(student.to_json())


async def add_course(request: Request) -> JSONResponse:
    claims = _admin(request, "add courses")
    course = await components(request).directory.add_course(claims, await read_json_object(request))
    return _created(request, course.to_json(), "get_course", course_id=course.id)


async def list_courses(request: Request) -> JSONResponse:
    found = await components(request).directory.courses(principal(request), request.query_params.get("school"))
    return JSONResponse({"courses": [course.to_json() for course in found]})


async def get_course(request: Request) -> JSONResponse:
    course = await components(request).directory.course(principal(request), request.path_params["course_id"])
    return JSONResponse(course.to_json())


async def enrol(request: Request) -> JSONResponse:
    claims = _admin(request, "enrol students")
    body = await read_json_object(request, MAX_ENROL_BODY_BYTES)
    enrolled = await components(request).directory.enrol(claims, request.path_params["course_id"], body)
    return JSONResponse(enrolled.to_json())


async def list_enrolments(request: Request) -> JSONResponse:
    course_id = request.path_params["course_id"]
    found = await components(request).directory.enrolments(principal(request), course_id)
    return JSONResponse({"course": course_id, "students": [student.to_json() for student in found]})


async def unenrol(request: Request) -> Response:
    claims = _admin(request, "unenrol students")
    await components(request).directory.unenrol(claims, request.path_params["course_id"], request.path_params["code"])
    return Response(status_code=204)


def _dry_run(request: Request) -> bool:
    value = request.query_params.get("dry_run", "").strip().lower()
    if value not in _TRUE | _FALSE:
        raise BadRequest("dry_run must be 1 or 0")
    return value in _TRUE


def _check_csv(request: Request) -> None:
    media_type, _, params = request.headers.get("content-type", "").partition(";")
    charset = params.strip().lower().removeprefix("charset=").strip('"') if params.strip() else "utf-8"
    if media_type.strip().lower() != "text/csv" or charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType("Content-Type must be text/csv (UTF-8)")


async def import_roster(request: Request) -> JSONResponse:
    claims = _admin(request, "import rosters")
    dry_run = _dry_run(request)
    _check_csv(request)
    data = await read_body(request, MAX_ROSTER_BYTES)
    try:
        report = await components(request).directory.import_roster(claims, data, dry_run=dry_run)
    except RosterTooLarge as exc:
        raise PayloadTooLarge(exc.message) from None
    return JSONResponse(report.to_json())


routes: list[BaseRoute] = [
    Route("/api/schools", list_schools, methods=["GET"], name="list_schools"),
    Route("/api/schools/{school_id}", put_school, methods=["PUT"], name="put_school"),
    Route("/api/schools/{school_id}", get_school, methods=["GET"], name="get_school"),
    Route("/api/classrooms", add_classroom, methods=["POST"], name="add_classroom"),
    Route("/api/classrooms", list_classrooms, methods=["GET"], name="list_classrooms"),
    Route("/api/students", add_student, methods=["POST"], name="add_student"),
    Route("/api/students", list_students, methods=["GET"], name="list_students"),
    Route("/api/students/{code}", get_student, methods=["GET"], name="get_student"),
    Route("/api/students/{code}", patch_student, methods=["PATCH"], name="patch_student"),
    Route("/api/courses", add_course, methods=["POST"], name="add_course"),
    Route("/api/courses", list_courses, methods=["GET"], name="list_courses"),
    Route("/api/courses/{course_id}", get_course, methods=["GET"], name="get_course"),
    Route("/api/courses/{course_id}/enrolments", enrol, methods=["POST"], name="enrol"),
    Route("/api/courses/{course_id}/enrolments", list_enrolments, methods=["GET"], name="list_enrolments"),
    Route("/api/courses/{course_id}/enrolments/{code}", unenrol, methods=["DELETE"], name="unenrol"),
    Route("/api/roster", import_roster, methods=["POST"], name="import_roster"),
]
