"""HttpCounts: an ASGI middleware counting HTTP requests by method, route template and status.

Labels stay bounded: the route is the matched route's path template (``/api/lessons/{lesson_id}``,
never the raw URL), ``<unmatched>`` when no route matched; a method outside the usual few is
``OTHER``; a request that raised before answering counts as 500. WebSocket connections are not
requests and are not counted here (``classroom_participants`` counts the lesson channels).
"""

from __future__ import annotations

from collections import Counter

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HttpCounts", "RequestKey", "route_template"]

RequestKey = tuple[str, str, str]
"""(method, route template, status code)."""

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"


def route_template(scope: Scope) -> str:
    """The path template of the route the router matched in ``scope``, or ``<unmatched>``."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED
    return path.rstrip("/") + "/{path}" if isinstance(route, Mount) else path


class HttpCounts:
    """The middleware; ``counts`` holds the requests seen so far (read by ``/metrics``)."""

    def __init__(self, app: ASGIApp, counts: Counter[RequestKey]) -> None:
        self.app = app
        self.counts = counts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            self.counts[(method, route_template(scope), str(status))] += 1
