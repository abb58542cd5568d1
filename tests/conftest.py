"""Shared fixtures: settings on a temporary data dir, the app with its lifespan, a client, tokens,
the app served on a loopback port and a headless Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from classroom.roles import Role
from server.app import create_app
from server.settings import Settings
from server.tokens import TokenCodec
from tests.web.browser import chromium_browser
from tests.ws.client import running_server

Mint = Callable[..., str]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var")


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


class Tokens:
    """Mints tokens with the app's codec: ``tokens.teacher("alice", lesson="L1")``."""

    def __init__(self, codec: TokenCodec) -> None:
        self.codec = codec

    def mint(self, role: Role, subject: str, *, school: str = "east", lesson: str = "*", ttl_s: int = 3600) -> str:
        return self.codec.issue(subject, role, school, lesson=lesson, ttl_s=ttl_s)

    def headers(self, role: Role, subject: str, **kwargs: object) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.mint(role, subject, **kwargs)}"}  # type: ignore[arg-type]

    def teacher(self, subject: str = "alice", **kwargs: object) -> dict[str, str]:
        return self.headers(Role.TEACHER, subject, **kwargs)

    def admin(self, subject: str = "root", **kwargs: object) -> dict[str, str]:
        return self.headers(Role.ADMIN, subject, **kwargs)

    def classroom(self, subject: str = "nujiang-1", **kwargs: object) -> dict[str, str]:
        return self.headers(Role.CLASSROOM, subject, **kwargs)

    def student(self, subject: str = "li", **kwargs: object) -> dict[str, str]:
        return self.headers(Role.STUDENT, subject, **kwargs)


@pytest.fixture
def tokens(app: Starlette) -> Tokens:
    return Tokens(app.state.tokens)


@pytest.fixture
async def http_base(app: Starlette) -> AsyncIterator[str]:
    """The app (tests/conftest.py, or a module's own ``app``) served by uvicorn: its http:// base URL."""
    async with running_server(app) as url:
        yield url.replace("ws://", "http://")


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium_browser() as chromium:
        yield chromium
