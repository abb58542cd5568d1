"""Fixtures of the page tests: the app served on a loopback port, and one headless Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.conftest import Tokens
from tests.web.browser import ROOMS, WEST, chromium_browser
from tests.ws.client import running_server


@pytest.fixture
async def http_base(app: Starlette) -> AsyncIterator[str]:
    """The app (tests/conftest.py, or a module's own ``app``) served by uvicorn: its http:// base URL."""
    async with running_server(app) as url:
        yield url.replace("ws://", "http://")


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium_browser() as chromium:
        yield chromium


@pytest.fixture
async def lesson(client: httpx.AsyncClient, tokens: Tokens) -> str:
    """A lesson of alice's, with the western school's classrooms in the directory."""
    admin = tokens.admin(school=WEST)
    assert (await client.put(f"/api/schools/{WEST}", json={"name": "West 1"}, headers=admin)).status_code < 300
    for room in ROOMS:
        response = await client.post("/api/classrooms", json={"id": room, "name": room}, headers=admin)
        assert response.status_code < 300, response.text
    response = await client.post("/api/lessons", json={"title": "Mould making 3"}, headers=tokens.teacher())
    assert response.status_code == 201, response.text
    return str(response.json()["id"])
