"""A real server for the schemathesis run: uvicorn in a thread on a loopback port, on either engine."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from classroom.roles import Role
from server.edge.app import create_app
from server.edge.settings import Settings
from tests.support.databases import drop_schema, postgres_url
from tests.support.servers import wait_started


@dataclass(frozen=True)
class LiveServer:
    url: str
    admin: str
    """a token of an admin of school east, for every lesson"""
    teacher: str
    """a token of alice, teacher at school east: the seeded lesson's teacher"""


def _settings(engine: str, data_dir: Path, namespace: str) -> Settings:
    if engine == "sqlite":
        return Settings(data_dir=data_dir)
    return Settings(data_dir=data_dir, database_url=postgres_url(), database_schema=namespace)


@pytest.fixture(params=["sqlite", "postgresql"])
def live_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    """The app served by uvicorn on 127.0.0.1 (a free port), stopped and cleaned up afterwards."""
    namespace = f"t_{secrets.token_hex(6)}"
    app = create_app(_settings(request.param, tmp_path / "var", namespace))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        port = wait_started(server, thread)
        tokens = app.state.tokens
        yield LiveServer(f"http://127.0.0.1:{port}", tokens.issue("root", Role.ADMIN, "east"),
                         tokens.issue("alice", Role.TEACHER, "east"))
    finally:
        server.should_exit = True
        thread.join(15)
        if request.param == "postgresql":
            drop_schema(namespace)


def seed(server: LiveServer) -> str:
    """A registered school with a classroom, a course, a student and a lesson taught by alice, so writes get past
    "unknown school"; returns the lesson's id."""
    headers = {"Authorization": f"Bearer {server.admin}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=10) as http:
        for method, path, body in [
            ("PUT", "/api/schools/east", {"name": "East vocational", "region": "Zhejiang"}),
            ("POST", "/api/classrooms", {"id": "east-1", "name": "Room 1"}),
            ("POST", "/api/courses", {"id": "mould-101", "title": "Mould design", "credits": "1.5"}),
            ("POST", "/api/students", {"code": "ZJ-000001", "name": "Li", "classroom": "east-1"}),
            ("POST", "/api/lessons", {"title": "Mould design 1", "course": "mould-101", "teacher": "alice"}),
        ]:
            response = http.request(method, path, json=body)
            assert response.status_code == 201, response.text
    lesson_id: str = response.json()["id"]
    return lesson_id
