"""Credit bank API: accounts, school books, reversals, recognition and its rules, checkpoints."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from server.edge.errors import BadRequest, NotFoundError
from server.edge.http_body import read_json_object
from server.edge.query_params import query_number
from server.edge.route_context import components, principal

__all__ = ["routes"]


def _seq(request: Request, name: str) -> int:
    text = request.path_params[name]
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise BadRequest(f"{name} must be a ledger sequence number")
    return int(text)


async def student_credits(request: Request) -> JSONResponse:
    return JSONResponse(await components(request).bank.account(principal(request), request.path_params["code"]))


async def school_entries(request: Request) -> JSONResponse:
    claims = principal(request)
    school = request.query_params.get("school", claims.school)
    bank = components(request).bank
    entries = await bank.school_entries(claims, school, query_number(request, "limit", 100),
                                        query_number(request, "after", 0))
    return JSONResponse({"school": school, "entries": entries})


async def reverse_entry(request: Request) -> JSONResponse:
    claims = principal(request)
    body = await read_json_object(request)
    entries, created = await components(request).bank.reverse(claims, _seq(request, "seq"), body)
    return JSONResponse({"entries": [e.to_json() for e in entries], "result": "created" if created else "exists"},
                        status_code=201 if created else 200)


async def recognitions(request: Request) -> JSONResponse:
    claims = principal(request)
    bank = components(request).bank
    found = await bank.recognitions(claims, request.query_params.get("status"),
                                    query_number(request, "limit", 100), query_number(request, "after", 0))
    return JSONResponse({"school": claims.school, "recognitions": found})


async def decide(request: Request) -> JSONResponse:
    claims = principal(request)
    body = await read_json_object(request)
    action = request.path_params["action"]
    if action not in ("post", "void"):
        raise NotFoundError("a recognition is decided by POST .../post or .../void")
    entries, created = await components(request).bank.decide(claims, _seq(request, "seq"), action, body)
    return JSONResponse({"entries": [e.to_json() for e in entries], "result": "created" if created else "exists"},
                        status_code=201 if created else 200)


async def put_rule(request: Request) -> JSONResponse:
    claims = principal(request)
    rule = await components(request).bank.put_rule(claims, await read_json_object(request))
    return JSONResponse(rule.to_json(), status_code=201)


async def list_rules(request: Request) -> JSONResponse:
    rules = await components(request).bank.rules(principal(request))
    return JSONResponse({"rules": [rule.to_json() for rule in rules]})


async def checkpoint(request: Request) -> JSONResponse:
    principal(request)
    return JSONResponse(await components(request).bank.checkpoint())


async def repost(request: Request) -> JSONResponse:
    return JSONResponse(await components(request).bank.repost(principal(request), request.path_params["lesson_id"]))


routes: list[BaseRoute] = [
    Route("/api/students/{code}/credits", student_credits, methods=["GET"], name="student_credits"),
    Route("/api/ledger/entries", school_entries, methods=["GET"], name="school_entries"),
    Route("/api/ledger/entries/{seq}/reversal", reverse_entry, methods=["POST"], name="reverse_entry"),
    Route("/api/ledger/checkpoint", checkpoint, methods=["GET"], name="ledger_checkpoint"),
    Route("/api/recognitions", recognitions, methods=["GET"], name="recognitions"),
    Route("/api/recognitions/{seq}/{action:str}", decide, methods=["POST"], name="decide_recognition"),
    Route("/api/recognition-rules", put_rule, methods=["POST"], name="put_rule"),
    Route("/api/recognition-rules", list_rules, methods=["GET"], name="list_rules"),
    Route("/api/lessons/{lesson_id}/credits", repost, methods=["POST"], name="repost_lesson"),
]
