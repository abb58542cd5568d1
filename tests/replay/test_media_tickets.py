"""Media tickets: what GET /api/recordings/{id} puts in its track URLs opens that recording's media
(with Range) for a few hours, and nothing else; access logs never show a ticket or a token."""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
import uvicorn
from starlette.applications import Starlette

from classroom.roles import Role
from server.edge import cli
from server.edge.log_redaction import REDACTED, RedactSecrets, redact, uvicorn_log_config
from server.edge.media_tickets import TICKET_TTL_S
from server.edge.secret import load_or_create_secret
from server.edge.tokens import TokenCodec
from tests.support.recordings import recording, seed
from tests.support.tokens import Tokens
from tests.support.wait import wait_for

CAMERA = "/api/recordings/R1/media/teacher/camera"


@pytest.fixture
async def media(app: Starlette) -> dict[str, bytes]:
    await seed(app, recording("R2", "L2"))
    _, files = await seed(app)
    return files


async def track_urls(client: httpx.AsyncClient, headers: dict[str, str], recording_id: str = "R1") -> dict[str, str]:
    meta = (await client.get(f"/api/recordings/{recording_id}", headers=headers)).json()
    return {track["name"]: track["url"] for track in meta["tracks"]}


def ticket_of(url: str) -> str:
    [ticket] = parse_qs(urlsplit(url).query)["ticket"]
    return ticket


async def test_a_ticket_opens_its_recordings_media_with_range_and_no_header(
    client: httpx.AsyncClient, tokens: Tokens, media: dict[str, bytes]
) -> None:
    urls = await track_urls(client, tokens.student(lesson="L1"))
    assert urls["teacher/camera"].startswith(CAMERA + "?ticket=")
    response = await client.get(urls["teacher/camera"], headers={"Range": "bytes=100-199"})
    assert response.status_code == 206
    assert response.content == media["teacher/camera"][100:200]
    mic = await client.get(urls["teacher/mic"])
    assert mic.status_code == 200 and mic.content == media["teacher/mic"]


async def test_a_ticket_carries_the_callers_principal_the_lesson_and_one_media_grant(
    app: Starlette, client: httpx.AsyncClient, tokens: Tokens, media: dict[str, bytes]
) -> None:
    urls = await track_urls(client, tokens.teacher("alice"))
    claims = app.state.tokens.verify(ticket_of(urls["teacher/camera"]))
    assert (claims.principal.subject, claims.role, claims.school) == ("alice", Role.TEACHER, "east")
    assert claims.lesson == "L1" and claims.grants == ("media:R1",)
    assert claims.expires_at <= time.time() + TICKET_TTL_S + 1


async def test_a_ticket_never_outlives_the_token_it_was_issued_for(
    app: Starlette, client: httpx.AsyncClient, tokens: Tokens, media: dict[str, bytes]
) -> None:
    short = tokens.mint(Role.STUDENT, "li", lesson="L1", ttl_s=600)
    urls = await track_urls(client, {"Authorization": f"Bearer {short}"})
    assert app.state.tokens.verify(ticket_of(urls["teacher/camera"])).expires_at <= app.state.tokens.verify(
        short).expires_at


async def test_a_ticket_does_not_open_another_recording(client: httpx.AsyncClient, tokens: Tokens,
                                                        media: dict[str, bytes]) -> None:
    ticket = ticket_of((await track_urls(client, tokens.admin()))["teacher/camera"])
    response = await client.get(f"/api/recordings/R2/media/teacher/camera?ticket={ticket}",
                                headers={"Range": "bytes=0-9"})
    assert response.status_code == 403
    assert "R2" in response.json()["error"]["message"]


@pytest.mark.parametrize("route", ["/api/recordings/R1", "/api/recordings/R1/timeline", "/api/recordings/R1/state?t=1",
                                   "/api/recordings", "/api/lessons"])
async def test_a_ticket_is_no_access_token_for_any_other_route(client: httpx.AsyncClient, tokens: Tokens,
                                                                media: dict[str, bytes], route: str) -> None:
    ticket = ticket_of((await track_urls(client, tokens.admin()))["teacher/camera"])
    as_bearer = await client.get(route, headers={"Authorization": f"Bearer {ticket}"})
    assert as_bearer.status_code == 401
    separator = "&" if "?" in route else "?"
    as_query = await client.get(f"{route}{separator}access_token={ticket}")
    assert as_query.status_code == 401
    assert (await client.get(f"{route}{separator}ticket={ticket}")).status_code == 401


async def test_a_ticket_is_not_a_bearer_token_even_on_the_media_route(
    client: httpx.AsyncClient, tokens: Tokens, media: dict[str, bytes]
) -> None:
    ticket = ticket_of((await track_urls(client, tokens.admin()))["teacher/camera"])
    assert (await client.get(CAMERA, headers={"Authorization": f"Bearer {ticket}"})).status_code == 401


async def test_an_access_token_is_no_ticket(client: httpx.AsyncClient, tokens: Tokens,
                                            media: dict[str, bytes]) -> None:
    token = tokens.mint(Role.ADMIN, "root")
    assert (await client.get(f"{CAMERA}?ticket={token}")).status_code == 401


async def test_an_expired_or_forged_ticket_is_refused(app: Starlette, client: httpx.AsyncClient, tokens: Tokens,
                                                      media: dict[str, bytes]) -> None:
    secret = load_or_create_secret(app.state.settings.data_dir)
    earlier = TokenCodec(secret, clock=lambda: time.time() - TICKET_TTL_S - 60)
    expired = earlier.issue("li", Role.STUDENT, "east", lesson="L1", ttl_s=TICKET_TTL_S, grants=("media:R1",))
    response = await client.get(f"{CAMERA}?ticket={expired}", headers={"Range": "bytes=0-9"})
    assert response.status_code == 401 and "expired" in response.json()["error"]["message"]
    forged = jwt.encode({"sub": "li", "role": "student", "school": "east", "lesson": "L1", "grants": ["media:R1"],
                         "iat": int(time.time()), "exp": int(time.time()) + 60, "iss": "classroom"},
                        b"x" * 32, algorithm="HS256")
    assert (await client.get(f"{CAMERA}?ticket={forged}")).status_code == 401


async def test_a_ticket_opens_nothing_once_the_recording_is_deleted(
    client: httpx.AsyncClient, tokens: Tokens, media: dict[str, bytes]
) -> None:
    url = (await track_urls(client, tokens.teacher()))["teacher/camera"]
    assert (await client.get(url, headers={"Range": "bytes=0-0"})).status_code == 206
    assert (await client.delete("/api/recordings/R1", headers=tokens.admin())).status_code == 204
    assert (await client.get(url, headers={"Range": "bytes=0-0"})).status_code == 404


# --- access log redaction ---------------------------------------------------------------------


@pytest.mark.parametrize(("line", "expected"), [
    ('GET /api/recordings/R1/media/teacher/camera?ticket=a.b.c HTTP/1.1',
     f'GET /api/recordings/R1/media/teacher/camera?ticket={REDACTED} HTTP/1.1'),
    ("/x?download=1&ticket=a.b-c_d&y=2", f"/x?download=1&ticket={REDACTED}&y=2"),
    ("/api/lessons?access_token=eyJ.x.y", f"/api/lessons?access_token={REDACTED}"),
    ("/ws/lessons/L1?ACCESS_TOKEN=abc", f"/ws/lessons/L1?ACCESS_TOKEN={REDACTED}"),
    ("/x?not_a_ticket=keep&myticket=keep", "/x?not_a_ticket=keep&myticket=keep"),
])
def test_redact_replaces_only_credential_values(line: str, expected: str) -> None:
    assert redact(line) == expected


def test_the_filter_redacts_a_records_arguments() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", "/m?ticket=SECRET", "1.1", 206), None)
    assert RedactSecrets().filter(record)
    assert "SECRET" not in record.getMessage() and REDACTED in record.getMessage()


@pytest.fixture
async def logged_server(app: Starlette) -> AsyncIterator[tuple[str, io.StringIO]]:
    """The app behind a real uvicorn with the log configuration ``classroom serve`` uses."""
    out = io.StringIO()
    config = uvicorn_log_config()
    for handler in config["handlers"].values():
        handler["stream"] = out
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=config, log_level="info",
                                           lifespan="off"))
    task = asyncio.ensure_future(server.serve())
    await wait_for(lambda: server.started, timeout=10)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", out
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def test_uvicorns_access_log_shows_neither_tickets_nor_tokens(
    tokens: Tokens, media: dict[str, bytes], logged_server: tuple[str, io.StringIO]
) -> None:
    base, out = logged_server
    token = tokens.mint(Role.STUDENT, "li", lesson="L1")
    async with httpx.AsyncClient(base_url=base) as http:
        urls = await track_urls(http, {"Authorization": f"Bearer {token}"})
        ticket = ticket_of(urls["teacher/camera"])
        assert (await http.get(urls["teacher/camera"], headers={"Range": "bytes=0-9"})).status_code == 206
        assert (await http.get(f"/api/recordings?access_token={token}")).status_code == 200
    await wait_for(lambda: out.getvalue().count("\n") >= 3, timeout=5)
    log = out.getvalue()
    assert f"ticket={REDACTED}" in log and f"access_token={REDACTED}" in log and " 206" in log
    assert ticket not in log and token not in log
    assert ticket.split(".")[2] not in log and token.split(".")[2] not in log  # not even the signatures


def test_classroom_serve_runs_uvicorn_with_the_redacting_log_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: seen.update(kwargs))
    monkeypatch.setattr(logging, "basicConfig", lambda **kwargs: None)
    assert cli.main(["serve", "--data-dir", str(tmp_path), "--port", "0"]) == 0
    config = seen["log_config"]
    assert config["filters"]["redact_secrets"]["()"] == "server.edge.log_redaction.RedactSecrets"
    assert all("redact_secrets" in handler["filters"] for handler in config["handlers"].values())
