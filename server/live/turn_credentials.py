"""Short-lived TURN credentials: coturn's ``use-auth-secret`` scheme (draft-uberti-behave-turn-rest).

The server and the TURN server share one secret; neither a client nor a page ever sees it. Per
request the server issues

    username   = "<expiry, unix seconds>:<opaque id of the principal>"
    credential = base64(HMAC-SHA1(secret, username))

coturn recomputes the credential from the username and its ``static-auth-secret`` and refuses it
once the expiry is past. The opaque id is an HMAC of the principal (school, role, subject): stable
per principal, so the TURN server's logs can be matched to a principal by whoever holds the
secret, and meaningless to anybody else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from classroom.principal import Principal
from server.edge.settings import IceServer

__all__ = ["TurnCredential", "TurnIssuer", "credential_for", "opaque_id"]

OPAQUE_HEX = 16


@dataclass(frozen=True)
class TurnCredential:
    username: str
    credential: str
    expires_at: int


def credential_for(secret: bytes, username: str) -> str:
    """base64(HMAC-SHA1(secret, username)): what coturn expects as the password of ``username``."""
    digest = hmac.new(secret, username.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def opaque_id(secret: bytes, principal: Principal) -> str:
    """A stable id of the principal that reveals nothing of it without the secret."""
    key = f"{principal.school}\x1f{principal.role.value}\x1f{principal.subject}".encode()
    return hmac.new(secret, b"turn-user\x1f" + key, hashlib.sha256).hexdigest()[:OPAQUE_HEX]


@dataclass(frozen=True)
class TurnIssuer:
    """Issues the ICE servers a client uses: the TURN URLs with a fresh credential each time."""

    urls: tuple[str, ...]
    secret: bytes
    ttl_s: int

    def issue(self, principal: Principal, now: float) -> TurnCredential:
        expires_at = int(now) + self.ttl_s
        username = f"{expires_at}:{opaque_id(self.secret, principal)}"
        return TurnCredential(username, credential_for(self.secret, username), expires_at)

    def ice_servers(self, principal: Principal, now: float) -> tuple[tuple[IceServer, ...], int]:
        """One ICE server entry per TURN URL (one credential for all), and when it expires."""
        issued = self.issue(principal, now)
        servers = tuple(IceServer(url, issued.username, issued.credential) for url in self.urls)
        return servers, issued.expires_at
