"""Ledger publication API: signed checkpoints and entry leaves, for partner schools that witness
this node's ledger (``classroom ledger witness``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from server.edge.query_params import query_number
from server.edge.route_context import components, principal

__all__ = ["routes"]

_DIGITS = 19


def _number(request: Request, name: str, default: int | None = None) -> int:
    return query_number(request, name, default, digits=_DIGITS)


async def checkpoints(request: Request) -> JSONResponse:
    claims = principal(request)
    publication = components(request).ledger_publication
    page = await publication.checkpoints(claims, _number(request, "since", 0), _number(request, "limit", 100))
    return JSONResponse(page)


async def leaves(request: Request) -> JSONResponse:
    claims = principal(request)
    publication = components(request).ledger_publication
    return JSONResponse(await publication.leaves(claims, _number(request, "after"), _number(request, "upto")))


routes: list[BaseRoute] = [
    Route("/api/ledger/checkpoints", checkpoints, methods=["GET"], name="ledger_checkpoints"),
    Route("/api/ledger/leaves", leaves, methods=["GET"], name="ledger_leaves"),
]
