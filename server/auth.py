"""Authentication at the edge: find the bearer token, verify it, and guard decisions."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import HTTPConnection

from classroom.access import Claims
from server.errors import Forbidden
from server.tokens import TokenCodec

__all__ = ["ACCESS_TOKEN_PARAM", "authenticate", "bearer_token", "require"]

ACCESS_TOKEN_PARAM = "access_token"
"""Query parameter for clients that cannot set headers (browser WebSockets)."""


def bearer_token(headers: Mapping[str, str], query_params: Mapping[str, str]) -> str | None:
    """The token from ``Authorization: Bearer X``, else from ``?access_token=X``, else None."""
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return query_params.get(ACCESS_TOKEN_PARAM) or None


def authenticate(connection: HTTPConnection, codec: TokenCodec) -> Claims:
    """Claims of a Request or WebSocket; raises Unauthorized."""
    return codec.verify(bearer_token(connection.headers, connection.query_params))


def require(ok: bool, message: str) -> None:
    """Raise Forbidden(message) unless ``ok``."""
    if not ok:
        raise Forbidden(message)
