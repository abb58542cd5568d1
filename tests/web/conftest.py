"""Fixtures of the page tests: a lesson with the western school's classrooms (the served app and
the browser are in tests/conftest.py)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.browser import ROOMS, WEST
from tests.support.tokens import Tokens


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
