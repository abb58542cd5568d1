"""Routes of the web pages and their static files, with the headers every page gets.

A page is public (it holds no data; the data comes from the API with the token the page was
given). Its document forbids everything but this origin (Content-Security-Policy), is never framed,
and sends no referrer, so a token in the URL fragment stays in the browser.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

__all__ = ["PAGES", "STATIC_DIR", "Page", "page_for_role", "routes"]

STATIC_DIR = Path(__file__).parent / "static"

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
                               "media-src 'self' blob:; connect-src 'self' ws: wss:; object-src 'none'; "
                               "base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), microphone=(self), display-capture=(self)",
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class Page:
    path: str
    file: str
    role: str | None
    """the role whose link opens this page (``classroom link --role``), None for the index"""


PAGES: tuple[Page, ...] = (
    Page("/", "index.html", None),
    Page("/teacher", "teacher.html", "teacher"),
    Page("/classroom", "classroom.html", "classroom"),
    Page("/replay", "replay.html", "student"),
    Page("/admin", "admin.html", "admin"),
)
"""Every page the server serves; ``classroom link`` opens the one of the token's role."""


def page_for_role(role: str) -> Page | None:
    return next((page for page in PAGES if page.role == role), None)


def _page(page: Page) -> Route:
    async def serve(request: Request) -> Response:
        return FileResponse(STATIC_DIR / page.file, media_type="text/html; charset=utf-8",
                            headers=SECURITY_HEADERS)

    return Route(page.path, serve, methods=["GET"], name=f"page_{page.file.removesuffix('.html')}")


class _StaticFiles(StaticFiles):
    """Static files that are never sniffed into another type and are revalidated on each load."""

    def file_response(self, full_path: PathLike, stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-cache"
        return response


routes: list[BaseRoute] = [
    *(_page(page) for page in PAGES),
    Mount("/static", _StaticFiles(directory=STATIC_DIR), name="static"),
]
