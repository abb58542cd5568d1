"""Lessons API: health, create, list, get, end. Thin: authenticate, call the service, render."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from classroom.access import can_manage_lessons
from server.edge.auth import require
from server.edge.http_body import read_json_object
from server.edge.route_context import components, principal

__all__ = ["routes"]


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def create_lesson(request: Request) -> JSONResponse:
    claims = principal(request)
    require(can_manage_lessons(claims), "only teachers and admins create lessons")
    body = await read_json_object(request)
    lesson = await components(request).lessons.create(claims, body)
    location = str(request.url_for("get_lesson", lesson_id=lesson.id).path)
    return JSONResponse(lesson.to_json(), status_code=201, headers={"Location": location})


async def list_lessons(request: Request) -> JSONResponse:
    found = await components(request).lessons.list(principal(request))
    return JSONResponse({"lessons": [lesson.to_json() for lesson in found]})


async def get_lesson(request: Request) -> JSONResponse:
    lesson_id = request.path_params["lesson_id"]
    lesson = await components(request).lessons.get(lesson_id, principal(request))
    return JSONResponse(lesson.to_json())


async def end_lesson(request: Request) -> JSONResponse:
    lesson_id = request.path_params["lesson_id"]
    lesson = await components(request).lessons.end(principal(request), lesson_id)
    return JSONResponse(lesson.to_json())


routes: list[BaseRoute] = [
    Route("/api/health", health, methods=["GET"], name="health"),
    Route("/api/lessons", create_lesson, methods=["POST"], name="create_lesson"),
    Route("/api/lessons", list_lessons, methods=["GET"], name="list_lessons"),
    Route("/api/lessons/{lesson_id}", get_lesson, methods=["GET"], name="get_lesson"),
    Route("/api/lessons/{lesson_id}/end", end_lesson, methods=["POST"], name="end_lesson"),
]
