"""Media tickets: short-lived, recording-scoped tokens for ``<video src>`` and ``<audio src>``.

A media element cannot send an ``Authorization`` header, and a bearer token in its URL would be
written into access logs and browser history. ``GET /api/recordings/{id}`` therefore gives each
track's URL a ``?ticket=``: a token signed with the server's key, carrying the caller's principal,
the recording's lesson as its scope, the single grant ``media:<recording id>`` and a lifetime of
at most :data:`TICKET_TTL_S` (never beyond the caller's own token).

A ticket opens only the media of its recording (:func:`verify_ticket`): every other route refuses
it (:func:`refuse_ticket`, called by ``server.edge.auth.authenticate``), and it cannot read another
recording. Access logs redact ``ticket=`` values all the same (``server.edge.log_redaction``).
"""

from __future__ import annotations

import time

from classroom.access import Claims
from server.edge.errors import Forbidden, Unauthorized
from server.edge.tokens import TokenCodec

__all__ = ["MEDIA_GRANT_PREFIX", "TICKET_PARAM", "TICKET_TTL_S", "is_ticket", "issue_ticket", "media_grant",
           "refuse_ticket", "verify_ticket"]

TICKET_PARAM = "ticket"
TICKET_TTL_S = 4 * 3600
"""Long enough to watch a long lesson paused and resumed; a reload of the page gets fresh ones."""
MEDIA_GRANT_PREFIX = "media:"


def media_grant(recording_id: str) -> str:
    return f"{MEDIA_GRANT_PREFIX}{recording_id}"


def is_ticket(claims: Claims) -> bool:
    return any(grant.startswith(MEDIA_GRANT_PREFIX) for grant in claims.grants)


def issue_ticket(codec: TokenCodec, claims: Claims, recording_id: str, lesson_id: str,
                 now: float | None = None) -> str:
    """A ticket for ``claims`` (already allowed to replay the recording) to read its media."""
    remaining = claims.expires_at - int(time.time() if now is None else now)
    ttl_s = max(1, min(TICKET_TTL_S, remaining))
    principal = claims.principal
    return codec.issue(principal.subject, principal.role, principal.school, lesson=lesson_id, ttl_s=ttl_s,
                       grants=(media_grant(recording_id),))


def verify_ticket(codec: TokenCodec, token: str, recording_id: str) -> Claims:
    """The ticket's claims; Unauthorized if it is no valid ticket, Forbidden if it is another recording's."""
    claims = codec.verify(token)
    if not is_ticket(claims):
        raise Unauthorized("ticket must be a media ticket from GET /api/recordings/{id}")
    if media_grant(recording_id) not in claims.grants:
        raise Forbidden(f"this ticket does not open the media of recording {recording_id}")
    return claims


def refuse_ticket(claims: Claims) -> Claims:
    """``claims`` unless they are a media ticket's (which opens nothing but its recording's media)."""
    if is_ticket(claims):
        raise Unauthorized("a media ticket opens only its recording's media; use an access token")
    return claims
