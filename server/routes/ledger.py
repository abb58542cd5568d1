"""Ledger publication API: signed checkpoints and entry leaves, for partner schools that witness
this node's ledger (``classroom ledger witness``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from server.auth import authenticate
from server.ledger.publication import LedgerPublication
from server.routes.params import query_number

__all__ = ["routes"]

_DIGITS = 19


def _publication(request: Request) -> LedgerPublication:
    publication: LedgerPublication = request.app.state.ledger_publication
    return publication


def _number(request: Request, name: str, default: int | None = None) -> int:
    return query_number(request, name, default, digits=_DIGITS)


async def checkpoints(request: Request) -> JSONResponse:
    claims = authenticate(request, request.app.state.tokens)
    page = await _publication(request).checkpoints(claims, _number(request, "since", 0),
                                                   _number(request, "limit", 100))
    return JSONResponse(page)


async def leaves(request: Request) -> JSONResponse:
    claims = authenticate(request, request.app.state.tokens)
    return JSONResponse(await _publication(request).leaves(claims, _number(request, "after"),
                                                           _number(request, "upto")))


routes: list[BaseRoute] = [
    Route("/api/ledger/checkpoints", checkpoints, methods=["GET"], name="ledger_checkpoints"),
    Route("/api/ledger/leaves", leaves, methods=["GET"], name="ledger_leaves"),
]
