"""Presence API: the classroom screen's check-in code, roster ticks, self check-in, roll calls."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from server.edge.http_body import read_json_object
from server.edge.route_context import components, principal

__all__ = ["routes"]


async def checkin_code(request: Request) -> JSONResponse:
    body = await components(request).presence.checkin_code(principal(request), request.path_params["lesson_id"])
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


async def roster(request: Request) -> JSONResponse:
    claims = principal(request)
    body = await read_json_object(request)
    key = request.headers.get("idempotency-key")
    result = await components(request).presence.roster(claims, request.path_params["lesson_id"], body, key)
    return JSONResponse(result, status_code=201 if result["created"] else 200)


async def self_checkin(request: Request) -> JSONResponse:
    claims = principal(request)
    body = await read_json_object(request)
    result = await components(request).presence.self_checkin(claims, request.path_params["lesson_id"], body)
    return JSONResponse(result, status_code=201 if result["result"] == "created" else 200)


async def open_rollcall(request: Request) -> JSONResponse:
    result = await components(request).presence.open_rollcall(principal(request), request.path_params["lesson_id"])
    return JSONResponse(result, status_code=201)


async def answer_rollcall(request: Request) -> JSONResponse:
    claims = principal(request)
    body = await read_json_object(request)
    params = request.path_params
    result = await components(request).presence.answer_rollcall(claims, params["lesson_id"], params["rollcall"], body)
    return JSONResponse(result, status_code=201 if result["created"] else 200)


async def presence_events(request: Request) -> JSONResponse:
    events = await components(request).presence.events(principal(request), request.path_params["lesson_id"])
    return JSONResponse({"events": events})


routes: list[BaseRoute] = [
    Route("/api/lessons/{lesson_id}/checkin-code", checkin_code, methods=["GET"], name="checkin_code"),
    Route("/api/lessons/{lesson_id}/presence", roster, methods=["POST"], name="roster_tick"),
    Route("/api/lessons/{lesson_id}/presence", presence_events, methods=["GET"], name="presence_events"),
    Route("/api/lessons/{lesson_id}/checkin", self_checkin, methods=["POST"], name="self_checkin"),
    Route("/api/lessons/{lesson_id}/rollcalls", open_rollcall, methods=["POST"], name="open_rollcall"),
    Route("/api/lessons/{lesson_id}/rollcalls/{rollcall}/answers", answer_rollcall, methods=["POST"],
          name="answer_rollcall"),
]
