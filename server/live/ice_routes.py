"""The ICE servers a client uses for its peer connections, with TURN credentials issued per request.

GET /api/ice-servers    any valid token -> {"ice_servers": [RTCIceServer...], "expires_at": unix s | null}

The TURN entries carry a credential made for the caller's principal (coturn's ``use-auth-secret``
scheme, ``server.live.turn_credentials``); the shared secret never leaves the server. The answer
is not cached (``Cache-Control: no-store``): a page asks again on every (re)connect.
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from classroom.access import Claims
from server.edge.components import Components
from server.edge.route_context import components, principal
from server.edge.settings import IceServer

__all__ = ["ice_servers_for", "routes"]


def ice_servers_for(parts: Components, claims: Claims, now: float) -> tuple[tuple[IceServer, ...], int | None]:
    """The configured ICE servers, then the TURN servers with a fresh credential; its expiry."""
    static = parts.settings.ice_server_entries()
    if parts.turn is None:
        return static, None
    turn, expires_at = parts.turn.ice_servers(claims.principal, now)
    return (*static, *turn), expires_at


async def ice_servers(request: Request) -> JSONResponse:
    claims = principal(request)
    servers, expires_at = ice_servers_for(components(request), claims, time.time())
    body = {"ice_servers": [server.to_json() for server in servers], "expires_at": expires_at}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


routes: list[BaseRoute] = [Route("/api/ice-servers", ice_servers, methods=["GET"], name="ice_servers")]
