"""Shared fixtures: settings on a temporary data dir, the app with its lifespan, a client, tokens,
the app served on a loopback port and a headless Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from server.edge.app import create_app
from server.edge.settings import Settings
from tests.support.browser import chromium_browser
from tests.support.servers import running_server
from tests.support.tokens import Tokens

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
