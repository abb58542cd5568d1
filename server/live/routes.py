"""WHIP (RFC 9725) ingest and WHEP playback: one audio and one video track per session.

POST  /whip/{lesson}            teacher token, application/sdp offer -> 201 answer + Location
POST  /whep/{lesson}            viewer token, application/sdp offer  -> 201 answer + Location
DELETE /whip|whep/{lesson}/{id} ends the session
PATCH  on a session             405: candidates are gathered before answering, no trickle ICE
OPTIONS                         CORS preflight, the configured ICE servers in Link headers (no TURN
                                credentials: a preflight is unauthenticated); the 201 adds TURN servers
                                with a credential for the caller
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from media import SdpError
from server.edge.errors import BadRequest, UnsupportedMediaType
from server.edge.http_body import read_body
from server.edge.route_context import components, principal
from server.edge.settings import IceServer
from server.live.ice_routes import ice_servers_for
from server.live.sessions import LiveMedia

__all__ = ["routes"]

MAX_SDP_BYTES = 64 * 1024
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Location, Link, ETag",
}


def ice_link(server: IceServer) -> str:
    link = f'<{server.urls}>; rel="ice-server"'
    if server.username is not None and server.credential is not None:
        link += f'; username="{server.username}"; credential="{server.credential}"; credential-type="password"'
    return link


def _links(servers: tuple[IceServer, ...]) -> dict[str, str]:
    links = [ice_link(server) for server in servers]
    return {"Link": ", ".join(links)} if links else {}


async def _offer(request: Request) -> str:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/sdp":
        raise UnsupportedMediaType("Content-Type must be application/sdp")
    raw = await read_body(request, MAX_SDP_BYTES)
    try:
        sdp = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the SDP offer is not UTF-8") from None
    if not sdp.lstrip().startswith("v=0"):
        raise BadRequest("the body is not an SDP offer (it must start with v=0)")
    return sdp


async def _start(request: Request, kind: str) -> Response:
    claims = principal(request)
    offer = await _offer(request)
    live: LiveMedia = components(request).live_media
    lesson_id = request.path_params["lesson_id"]
    start = live.publish if kind == "whip" else live.watch
    try:
        session, answer = await start(claims, lesson_id, offer)
    except SdpError as exc:
        raise BadRequest(str(exc)) from None
    servers, _expiry = ice_servers_for(components(request), claims, time.time())  # TURN: authenticated only
    headers = {**CORS, **_links(servers),
               "Location": f"/{kind}/{lesson_id}/{session.id}", "ETag": f'"{session.id}"'}
    return Response(answer, status_code=201, media_type="application/sdp", headers=headers)


async def whip(request: Request) -> Response:
    return await _start(request, "whip")


async def whep(request: Request) -> Response:
    return await _start(request, "whep")


async def session_resource(request: Request) -> Response:
    kind = request.url.path.split("/", 2)[1]
    claims = principal(request)
    if request.method == "PATCH":
        return Response(status_code=405, headers={**CORS, "Allow": "DELETE, OPTIONS"})
    live: LiveMedia = components(request).live_media
    await live.end_session(claims, kind, request.path_params["lesson_id"], request.path_params["session_id"])
    return Response(status_code=200, headers=CORS)


async def preflight(request: Request) -> Response:
    headers = {
        **CORS,
        **_links(components(request).settings.ice_server_entries()),
        "Access-Control-Allow-Methods": "POST, DELETE, PATCH, OPTIONS",
        "Access-Control-Allow-Headers": "Authorization, Content-Type, If-Match",
        "Access-Control-Max-Age": "600",
        "Accept-Post": "application/sdp",
    }
    return Response(status_code=204, headers=headers)


routes = [
    Route("/whip/{lesson_id}", whip, methods=["POST"]),
    Route("/whep/{lesson_id}", whep, methods=["POST"]),
    Route("/whip/{lesson_id}", preflight, methods=["OPTIONS"]),
    Route("/whep/{lesson_id}", preflight, methods=["OPTIONS"]),
    Route("/whip/{lesson_id}/{session_id}", session_resource, methods=["DELETE", "PATCH"]),
    Route("/whep/{lesson_id}/{session_id}", session_resource, methods=["DELETE", "PATCH"]),
    Route("/whip/{lesson_id}/{session_id}", preflight, methods=["OPTIONS"]),
    Route("/whep/{lesson_id}/{session_id}", preflight, methods=["OPTIONS"]),
]
