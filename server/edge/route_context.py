"""What a route takes from its request or WebSocket: the caller (``principal``) and the app's
components (``components``: settings, services, stores), in one place for every route module."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from classroom.access import Claims
from server.edge.auth import authenticate
from server.edge.components import Components

__all__ = ["components", "principal"]


def components(connection: HTTPConnection) -> Components:
    """The app's components, as the app factory published them on ``app.state``."""
    found: Components = connection.app.state.components
    return found


def principal(connection: HTTPConnection) -> Claims:
    """The caller's verified claims; Unauthorized without a valid token (or with a media ticket,
    which opens only its recording's media)."""
    return authenticate(connection, components(connection).tokens)
