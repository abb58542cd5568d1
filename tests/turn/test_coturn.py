"""A real coturn (Debian's ``turnserver``, use-auth-secret) takes the credentials the server issues:
a fresh one allocates a relay over TCP and over TLS, an expired or forged one is refused."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aioice import stun
from aioice.stun import TransactionFailed
from aioice.turn import TurnClientTcpProtocol, create_turn_endpoint
from coturn import Coturn, missing_coturn

from classroom.principal import Principal
from classroom.roles import Role
from server.live.turn_credentials import TurnCredential, TurnIssuer

MISSING = missing_coturn()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"needs {MISSING}")

SECRET = "coturn-test-secret"
ROOM = Principal("east", Role.CLASSROOM, "nujiang-1")
HOST = "127.0.0.1"


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    with Coturn.start(HOST, SECRET, tls=True, directory=str(tmp_path_factory.mktemp("coturn"))) as turn:
        yield turn
    assert turn.popen is not None and turn.popen.poll() is not None  # it does not outlive the test


def _issuer(secret: str = SECRET, ttl_s: int = 600) -> TurnIssuer:
    return TurnIssuer(("turn:unused",), secret.encode(), ttl_s)


async def _allocate(port: int, issued: TurnCredential, tls: ssl.SSLContext | None = None) -> tuple[str, int]:
    """A TURN allocation over TCP (TLS with ``tls``); the relayed address coturn gave."""
    transport, _protocol = await asyncio.wait_for(create_turn_endpoint(
        asyncio.DatagramProtocol, (HOST, port), issued.username, issued.credential, transport="tcp", ssl=tls), 10)
    try:
        relayed: tuple[str, int] = transport.get_extra_info("sockname")
        return relayed
    finally:
        transport.close()


async def test_a_fresh_credential_allocates_a_relay_over_tcp(coturn: Coturn) -> None:
    relayed = await _allocate(coturn.port, _issuer().issue(ROOM, time.time()))
    assert relayed[0] == HOST and 40000 <= relayed[1] <= 40999  # coturn's relay-ip and port range


async def test_a_fresh_credential_allocates_a_relay_over_tls(coturn: Coturn) -> None:
    assert coturn.tls_port is not None and coturn.ca_file is not None
    context = ssl.create_default_context(cafile=str(coturn.ca_file))  # verifies the IP in the certificate
    relayed = await _allocate(coturn.tls_port, _issuer().issue(ROOM, time.time()), context)
    assert relayed[0] == HOST


async def test_an_expired_credential_is_refused(coturn: Coturn) -> None:
    issued = _issuer(ttl_s=600).issue(ROOM, time.time() - 601)  # expired a second ago
    with pytest.raises(TransactionFailed, match="401"):
        await _allocate(coturn.port, issued)


async def test_a_credential_made_without_the_shared_secret_is_refused(coturn: Coturn) -> None:
    forged = _issuer(secret="a guess").issue(ROOM, time.time())
    with pytest.raises(TransactionFailed, match="401"):
        await _allocate(coturn.port, forged)


async def test_a_credential_with_a_changed_expiry_is_refused(coturn: Coturn) -> None:
    issued = _issuer().issue(ROOM, time.time())
    _, _, who = issued.username.partition(":")
    stretched = TurnCredential(f"{issued.expires_at + 86400}:{who}", issued.credential, issued.expires_at + 86400)
    with pytest.raises(TransactionFailed, match="401"):
        await _allocate(coturn.port, stretched)


async def test_a_running_allocation_outlives_its_credential(coturn: Coturn) -> None:
    """Why credentials may be short-lived: coturn checks the expiry when an allocation is made, and
    the allocation's refreshes pass after it (browsers refresh with the credential they allocated with)."""
    issued = _issuer(ttl_s=1).issue(ROOM, time.time())
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_connection(
        lambda: TurnClientTcpProtocol((HOST, coturn.port), username=issued.username, password=issued.credential,
                                      lifetime=600, channel_refresh_time=500), HOST, coturn.port)
    try:
        await asyncio.wait_for(client.connect(), 10)
        # until the credential has expired by coturn's clock too: it reads time(2), the kernel's coarse
        # clock, which can trail time.time() on a busy virtual machine; hence two seconds, not one
        async with asyncio.timeout(8):
            while time.time() <= issued.expires_at + 2:
                await asyncio.sleep(0.1)
        refresh = stun.Message(message_method=stun.Method.REFRESH, message_class=stun.Class.REQUEST)
        refresh.attributes["LIFETIME"] = 600
        response, _ = await asyncio.wait_for(client.request_with_retry(refresh), 10)
        assert response.attributes["LIFETIME"] == 600
        with pytest.raises(TransactionFailed, match="401"):  # while a new allocation is refused
            relayed = await _allocate(coturn.port, issued)
            pytest.fail(f"allocated {relayed} at {time.time():.3f} with a credential expired at "
                        f"{issued.expires_at}:\n{coturn.log_tail()}")
    finally:
        await client.delete()
        transport.close()


def test_the_config_holds_the_rest_scheme_and_stays_private(coturn: Coturn) -> None:
    conf = Path(coturn.dir) / "turnserver.conf"
    text = conf.read_text()
    assert "use-auth-secret" in text and f"static-auth-secret={SECRET}" in text and "no-cli" in text
    assert conf.stat().st_mode & 0o077 == 0
