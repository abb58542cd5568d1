"""Fixtures of the lesson-channel tests: the app served by uvicorn on a free port, and a lesson."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from tests.support.servers import running_server
from tests.support.tokens import Tokens


@pytest.fixture
async def base(app: Starlette) -> AsyncIterator[str]:
    async with running_server(app) as url:
        yield url


@pytest.fixture
async def lesson_id(client: httpx.AsyncClient, tokens: Tokens) -> str:
    response = await client.post("/api/lessons", json={"title": "CNC milling"}, headers=tokens.teacher())
    assert response.status_code == 201, response.text
    return str(response.json()["id"])
