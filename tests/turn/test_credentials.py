"""TURN credentials (coturn's use-auth-secret REST scheme), their settings, and GET /api/ice-servers."""

from __future__ import annotations

import base64
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from classroom.principal import Principal
from classroom.roles import Role
from server.edge.app import create_app
from server.edge.settings import Settings
from server.live.turn_credentials import TurnIssuer, credential_for, opaque_id
from tests.support.peers import Subscriber
from tests.support.tokens import Tokens

SECRET = "turn-shared-secret-for-tests"
URLS = ("turn:turn.example.org:3478?transport=tcp", "turns:turn.example.org:443?transport=tcp")
EAST_ROOM = Principal("east", Role.CLASSROOM, "nujiang-1")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command line (Debian package openssl)")
def test_the_credential_is_the_base64_hmac_sha1_of_the_username_as_openssl_computes_it() -> None:
    username = "1796230000:0123456789abcdef"
    hmac_raw = subprocess.run(["openssl", "dgst", "-binary", "-sha1", "-hmac", SECRET], input=username.encode(),
                              capture_output=True, check=True).stdout
    assert credential_for(SECRET.encode(), username) == base64.b64encode(hmac_raw).decode()


def test_the_username_is_the_expiry_then_an_opaque_id_of_the_principal() -> None:
    issuer = TurnIssuer(URLS, SECRET.encode(), ttl_s=3600)
    issued = issuer.issue(EAST_ROOM, now=1_796_230_000.7)
    expiry, _, who = issued.username.partition(":")
    assert int(expiry) == issued.expires_at == 1_796_230_000 + 3600
    assert who == opaque_id(SECRET.encode(), EAST_ROOM)
    assert "nujiang" not in issued.username and "east" not in issued.username
    assert issued.credential == credential_for(SECRET.encode(), issued.username)


def test_principals_get_different_ids_and_the_id_depends_on_the_secret() -> None:
    other_school = Principal("west", Role.CLASSROOM, "nujiang-1")
    other_role = Principal("east", Role.STUDENT, "nujiang-1")
    ids = {opaque_id(SECRET.encode(), p) for p in (EAST_ROOM, other_school, other_role)}
    assert len(ids) == 3
    assert opaque_id(b"another secret", EAST_ROOM) != opaque_id(SECRET.encode(), EAST_ROOM)


def test_turn_settings_are_read_from_the_environment(tmp_path: Path) -> None:
    secret_file = tmp_path / "turn-secret"
    secret_file.write_text(SECRET + "\n")
    settings = Settings.from_env({"CLASSROOM_TURN_URLS": ",".join(URLS), "CLASSROOM_TURN_SECRET_FILE": str(secret_file),
                                  "CLASSROOM_TURN_TTL_S": "1800"})
    assert settings.turn_urls == URLS and settings.turn_ttl_s == 1800
    assert settings.turn_secret() == SECRET.encode()
    assert Settings().turn_ttl_s == 3600 and Settings().turn_secret() is None


@pytest.mark.parametrize(("variable", "value"), [
    ("CLASSROOM_TURN_URLS", "turn:user:pass@turn.example.org:443?transport=tcp"),  # no static password
    ("CLASSROOM_TURN_URLS", "stun:stun.example.org:3478"),
    ("CLASSROOM_TURN_TTL_S", "10"),
    ("CLASSROOM_TURN_TTL_S", "999999"),
])
def test_bad_turn_settings_are_refused_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ValueError, match=variable):
        Settings.from_env({variable: value})


def test_turn_urls_without_a_secret_file_are_refused() -> None:
    with pytest.raises(ValueError, match="CLASSROOM_TURN_SECRET_FILE"):
        Settings(turn_urls=URLS)


@pytest.mark.parametrize("content", [None, "", "\n"])
def test_a_missing_or_empty_secret_file_is_refused_naming_the_variable(tmp_path: Path, content: str | None) -> None:
    secret_file = tmp_path / "turn-secret"
    if content is not None:
        secret_file.write_text(content)
    with pytest.raises(ValueError, match="CLASSROOM_TURN_SECRET_FILE"):
        Settings(turn_urls=URLS, turn_secret_file=secret_file).turn_secret()


@pytest.fixture
async def turn_app(tmp_path: Path) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    secret_file = tmp_path / "turn-secret"
    secret_file.write_text(SECRET + "\n")
    application = create_app(Settings(data_dir=tmp_path / "var", ice_servers=("stun:stun.example.org:3478",),
                                      turn_urls=URLS, turn_secret_file=secret_file, turn_ttl_s=600))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield application, http


async def test_a_client_gets_the_turn_servers_with_a_fresh_credential_for_its_principal(
        turn_app: tuple[Starlette, httpx.AsyncClient]) -> None:
    application, http = turn_app
    tokens = Tokens(application.state.tokens)
    before = int(time.time())
    response = await http.get("/api/ice-servers", headers=tokens.classroom("nujiang-1", school="east"))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    stun, *turn = body["ice_servers"]
    assert stun == {"urls": "stun:stun.example.org:3478"}
    assert [entry["urls"] for entry in turn] == list(URLS)
    username = turn[0]["username"]
    assert int(username.split(":")[0]) == body["expires_at"]
    assert before + 600 <= body["expires_at"] <= int(time.time()) + 600
    assert username.split(":")[1] == opaque_id(SECRET.encode(), EAST_ROOM)
    assert turn[0]["credential"] == credential_for(SECRET.encode(), username)
    assert SECRET not in response.text


async def test_ice_servers_need_a_token_and_turn_credentials_are_never_in_a_preflight(
        turn_app: tuple[Starlette, httpx.AsyncClient]) -> None:
    _application, http = turn_app
    assert (await http.get("/api/ice-servers")).status_code == 401
    preflight = await http.options("/whep/some-lesson")
    assert preflight.headers["link"] == '<stun:stun.example.org:3478>; rel="ice-server"'


async def test_a_whep_session_carries_turn_servers_for_its_owner_in_its_link_headers(
        turn_app: tuple[Starlette, httpx.AsyncClient]) -> None:
    application, http = turn_app
    tokens = Tokens(application.state.tokens)
    created = await http.post("/api/lessons", json={"title": "TURN"}, headers=tokens.teacher())
    assert created.status_code == 201, created.text
    lesson = created.json()["id"]
    viewer = Subscriber()
    try:
        answer = await http.post(f"/whep/{lesson}", content=await viewer.offer(),
                                 headers={**tokens.classroom("nujiang-1", school="east"),
                                          "Content-Type": "application/sdp"})
    finally:
        await viewer.close()
    assert answer.status_code == 201, answer.text
    link = answer.headers["link"]
    assert '<stun:stun.example.org:3478>; rel="ice-server"' in link
    user = opaque_id(SECRET.encode(), EAST_ROOM)
    for url in URLS:
        assert f'<{url}>; rel="ice-server"; username="' in link
    assert link.count(f':{user}"; credential="') == len(URLS) and SECRET not in link


async def test_without_turn_only_the_configured_ice_servers_are_given(tmp_path: Path) -> None:
    application = create_app(Settings(data_dir=tmp_path / "var"))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            response = await http.get("/api/ice-servers", headers=Tokens(application.state.tokens).student())
    assert response.json() == {"ice_servers": [], "expires_at": None}
