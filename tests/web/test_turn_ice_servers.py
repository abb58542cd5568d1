"""The lesson pages take their ICE servers from the server (GET /api/ice-servers): with TURN
configured, a classroom screen's connection carries a TURN credential issued for its principal, a
real coturn grants Chromium a relay with it, and the screen still shows the teacher."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from classroom.principal import Principal
from classroom.roles import Role
from server.edge.settings import Settings
from server.live.turn_credentials import credential_for, opaque_id
from tests.support.browser import WEST, needs_chromium
from tests.support.tokens import Tokens
from tests.web.test_classroom_page import open_screen, receives_teacher, teacher_publishes

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "bench"))
from coturn import Coturn, missing_coturn, non_loopback_ipv4  # noqa: E402

HOST = non_loopback_ipv4()
MISSING = missing_coturn() or (None if HOST else "a non-loopback IPv4 address (Chromium reaches TURN from one)")
pytestmark = [needs_chromium, pytest.mark.skipif(MISSING is not None, reason=f"needs {MISSING}")]
SECRET = "page-test-turn-secret"

SUBSCRIBER_ICE = "() => window.classroomScreen.media.subscriber.getConfiguration().iceServers"
# On a working UDP path the subscriber connects before Chromium gets to its relay candidates (it stops
# gathering once connected): a relay-only probe shows that the page's credential opens coturn.
RELAY_PROBE = """async () => {
  const pc = new RTCPeerConnection({iceServers: window.classroomScreen.media.iceServers, iceTransportPolicy: "relay"});
  pc.createDataChannel("probe");
  const relays = [];
  pc.addEventListener("icecandidate", e => e.candidate && e.candidate.type === "relay" && relays.push(e.candidate));
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise(resolve => {
    const done = () => pc.iceGatheringState === "complete" && resolve();
    pc.addEventListener("icegatheringstatechange", done);
    done();
  });
  pc.close();
  return relays.map(c => c.relayProtocol);
}"""


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    assert HOST is not None
    with Coturn.start(HOST, SECRET, tls=False, directory=str(tmp_path_factory.mktemp("coturn"))) as turn:
        yield turn


@pytest.fixture
def settings(tmp_path: Path, coturn: Coturn) -> Settings:
    secret_file = tmp_path / "turn-secret"
    secret_file.write_text(SECRET + "\n")
    return Settings(data_dir=tmp_path / "var", turn_urls=coturn.urls(), turn_secret_file=secret_file)


async def test_a_classroom_screen_uses_a_turn_credential_issued_for_it_and_coturn_takes_it(
        http_base: str, browser: Any, tokens: Tokens, lesson: str, coturn: Coturn) -> None:
    teacher = await teacher_publishes(browser, http_base, tokens, lesson)
    context, page, errors = await open_screen(browser, http_base, tokens, lesson, "nujiang-1")
    try:
        await receives_teacher(page)
        servers = await page.evaluate(SUBSCRIBER_ICE)
        relays = await page.evaluate(RELAY_PROBE)
    finally:
        await context.close()
        await teacher.close()
    (server,) = servers
    assert server["urls"] in (list(coturn.urls()), coturn.urls()[0])  # as given, or as a one-entry list
    expiry, _, who = server["username"].partition(":")
    assert int(expiry) > time.time() + 3000  # the default: one hour
    assert who == opaque_id(SECRET.encode(), Principal(WEST, Role.CLASSROOM, "nujiang-1"))
    assert server["credential"] == credential_for(SECRET.encode(), server["username"])
    assert relays == ["tcp"]  # Chromium allocated a relay over TCP with the page's credential...
    assert server["username"] in coturn.allocated_users()  # ...which coturn granted
    assert errors == []
