"""The ``classroom`` command: minting tokens and serving."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from classroom.roles import Role
from server.edge.cli import main
from server.edge.secret import load_or_create_secret
from server.edge.tokens import TokenCodec
from tests.support.processes import ROOT, env_for
from tests.support.servers import free_port


def test_token_command_prints_a_verifiable_token_last(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["token", "--role", "teacher", "--subject", "alice", "--lesson", "L1", "--data-dir", str(tmp_path)]
    assert main(argv) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    claims = TokenCodec(load_or_create_secret(tmp_path)).verify(token)
    assert (claims.subject, claims.role, claims.lesson, claims.school) == ("alice", Role.TEACHER, "L1", "east")
    assert claims.expires_at - time.time() == pytest.approx(3600, abs=10)


def test_token_command_rejects_an_unknown_role(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["token", "--role", "janitor", "--subject", "x", "--data-dir", str(tmp_path)])
    assert exited.value.code == 2


def test_python_dash_m_server_token_in_a_subprocess(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "server", "token", "--role", "classroom", "--subject", "nujiang-1"]
    argv += ["--school", "west", "--ttl", "120"]
    done = subprocess.run(argv, env=env_for(tmp_path), capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    claims = TokenCodec(load_or_create_secret(tmp_path)).verify(done.stdout.strip().splitlines()[-1])
    assert (claims.role, claims.school, claims.lesson) == (Role.CLASSROOM, "west", "*")


def test_bad_environment_is_reported_without_a_traceback(tmp_path: Path) -> None:
    env = {**env_for(tmp_path), "CLASSROOM_PORT": "eighty"}
    argv = [sys.executable, "-m", "server", "serve"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2
    assert "CLASSROOM_PORT" in done.stderr and "Traceback" not in done.stderr


def wait_healthy(url: str, process: subprocess.Popen[str], timeout: float = 30.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "server exited early"
        try:
            return httpx.get(url, timeout=1.0)
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"{url} did not answer within {timeout}s")


def test_serve_answers_health_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "server", "serve", "--port", str(port), "--data-dir", str(tmp_path / "var")]
    process = subprocess.Popen(
        argv, env=env_for(tmp_path), cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        response = wait_healthy(f"http://127.0.0.1:{port}/api/health", process)
        assert response.status_code == 200 and response.json() == {"status": "ok"}
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    # uvicorn re-raises the signal after a graceful shutdown, so -SIGTERM is a clean exit too.
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "server stopping" in output and "Application shutdown complete" in output
    assert (tmp_path / "var" / "classroom.db").exists()
    assert (tmp_path / "var" / "token_secret").exists()


def test_link_prints_a_url_with_the_token_in_the_fragment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from urllib.parse import parse_qs, urlsplit

    code = main(["link", "--role", "admin", "--subject", "root", "--school", "east", "--data-dir", str(tmp_path),
                 "--base-url", "https://class.example.edu/"])
    assert code == 0
    url = urlsplit(capsys.readouterr().out.strip().splitlines()[-1])
    assert (url.scheme, url.netloc, url.path, url.query) == ("https", "class.example.edu", "/admin", "")
    token = parse_qs(url.fragment)["token"][0]
    claims = TokenCodec(load_or_create_secret(tmp_path)).verify(token)
    assert (claims.role, claims.subject, claims.school, claims.lesson) == (Role.ADMIN, "root", "east", "*")
