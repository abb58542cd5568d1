"""Authentication at the edge: find the bearer token, verify it, and guard decisions."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import HTTPConnection

from classroom.access import Claims
from server.edge.errors import Forbidden
from server.edge.media_tickets import refuse_ticket
from server.edge.tokens import TokenCodec

__all__ = ["ACCESS_TOKEN_PARAM", "CHANNEL_SUBPROTOCOL", "TOKEN_SUBPROTOCOL_PREFIX", "authenticate", "bearer_token",
           "channel_subprotocol", "require"]

ACCESS_TOKEN_PARAM = "access_token"
"""Query parameter for clients that cannot set headers (it reaches access logs: browsers use the
subprotocol below instead)."""
CHANNEL_SUBPROTOCOL = "classroom.v1"
"""The lesson channel's WebSocket subprotocol, echoed when a browser offers it."""
TOKEN_SUBPROTOCOL_PREFIX = "bearer."
"""A browser's WebSocket cannot set headers; it offers ``["classroom.v1", "bearer.<JWT>"]`` as
subprotocols, which (unlike a query string) no access log records."""


def bearer_token(headers: Mapping[str, str], query_params: Mapping[str, str]) -> str | None:
    """The token from ``Authorization: Bearer X``, a ``bearer.X`` WebSocket subprotocol, or
    ``?access_token=X``; else None."""
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    for offered in _subprotocols(headers):
        if offered.startswith(TOKEN_SUBPROTOCOL_PREFIX) and len(offered) > len(TOKEN_SUBPROTOCOL_PREFIX):
            return offered[len(TOKEN_SUBPROTOCOL_PREFIX):]
    return query_params.get(ACCESS_TOKEN_PARAM) or None


def channel_subprotocol(headers: Mapping[str, str]) -> str | None:
    """``classroom.v1`` when the client offered it (the server must then select it), else None."""
    return CHANNEL_SUBPROTOCOL if CHANNEL_SUBPROTOCOL in _subprotocols(headers) else None


def _subprotocols(headers: Mapping[str, str]) -> list[str]:
    return [part.strip() for part in headers.get("sec-websocket-protocol", "").split(",") if part.strip()]


def authenticate(connection: HTTPConnection, codec: TokenCodec) -> Claims:
    """Claims of a Request or WebSocket; raises Unauthorized (also for a media ticket, which opens
    only its recording's media: server.edge.media_tickets)."""
    return refuse_ticket(codec.verify(bearer_token(connection.headers, connection.query_params)))


def require(ok: bool, message: str) -> None:
    """Raise Forbidden(message) unless ``ok``."""
    if not ok:
        raise Forbidden(message)
