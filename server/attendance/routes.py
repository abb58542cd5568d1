"""Attendance API: a lesson's attendance (JSON, CSV, xAPI), a student's, and corrections."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from classroom.xapi import statements
from server.attendance.exports import attendance_csv
from server.edge.http_body import read_json_object
from server.edge.route_context import components, principal
from server.lessons.service import Lessons

__all__ = ["routes"]


async def lesson_attendance(request: Request) -> JSONResponse:
    view = await components(request).attendance.for_lesson(principal(request), request.path_params["lesson_id"])
    return JSONResponse(view.to_json())


async def lesson_attendance_csv(request: Request) -> Response:
    view = await components(request).attendance.for_lesson(principal(request), request.path_params["lesson_id"])
    filename = f"attendance-{view.lesson.id}.csv"
    return Response(attendance_csv(view), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


async def lesson_attendance_xapi(request: Request) -> JSONResponse:
    view = await components(request).attendance.for_lesson(principal(request), request.path_params["lesson_id"])
    base = str(request.base_url).rstrip("/")
    return JSONResponse(statements(view.lesson, view.attendance, view.schools, base),
                        headers={"X-Experience-API-Version": "1.0.3"})


async def student_attendance(request: Request) -> JSONResponse:
    code = request.path_params["code"]
    lessons: Lessons = components(request).lessons
    claims = principal(request)
    rows = await components(request).attendance.for_student(claims, code, await lessons.all_started())
    return JSONResponse({"student": code.upper(), "lessons": rows})


async def add_override(request: Request) -> JSONResponse:
    claims = principal(request)
    body = await read_json_object(request)
    key = request.headers.get("idempotency-key")
    record, created = await components(request).attendance.override(claims, request.path_params["lesson_id"], body, key)
    return JSONResponse(record.to_json(), status_code=201 if created else 200)


async def add_excuse(request: Request) -> JSONResponse:
    claims = principal(request)
    body = await read_json_object(request)
    key = request.headers.get("idempotency-key")
    record, created = await components(request).attendance.excuse(claims, request.path_params["lesson_id"], body, key)
    return JSONResponse(record.to_json(), status_code=201 if created else 200)


async def corrections(request: Request) -> JSONResponse:
    found = await components(request).attendance.corrections(principal(request), request.path_params["lesson_id"])
    return JSONResponse(found)


routes: list[BaseRoute] = [
    Route("/api/lessons/{lesson_id}/attendance", lesson_attendance, methods=["GET"], name="lesson_attendance"),
    Route("/api/lessons/{lesson_id}/attendance.csv", lesson_attendance_csv, methods=["GET"],
          name="lesson_attendance_csv"),
    Route("/api/lessons/{lesson_id}/attendance/xapi", lesson_attendance_xapi, methods=["GET"],
          name="lesson_attendance_xapi"),
    Route("/api/lessons/{lesson_id}/attendance/overrides", add_override, methods=["POST"], name="add_override"),
    Route("/api/lessons/{lesson_id}/attendance/excuses", add_excuse, methods=["POST"], name="add_excuse"),
    Route("/api/lessons/{lesson_id}/attendance/corrections", corrections, methods=["GET"], name="corrections"),
    Route("/api/students/{code}/attendance", student_attendance, methods=["GET"], name="student_attendance"),
]
