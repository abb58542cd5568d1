"""Signed access tokens (HS256 JWT) carrying subject, role, school, lesson scope and grants."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import jwt

from classroom.access import ANY_LESSON, Claims
from classroom.fields import text_problem
from classroom.principal import Principal
from classroom.roles import Role
from server.edge.errors import Unauthorized

__all__ = ["ISSUER", "MAX_ID_CHARS", "TokenCodec"]

ISSUER = "classroom"
_ALGORITHM = "HS256"
_MAX_TOKEN_CHARS = 8192
MAX_ID_CHARS = 128


class TokenCodec:
    """Issues and verifies access tokens with one shared secret."""

    def __init__(self, secret: bytes, *, clock: Callable[[], float] = time.time) -> None:
        if len(secret) < 32:
            raise ValueError("token secret must be at least 32 bytes")
        self._secret = secret
        self._clock = clock

    def issue(
        self,
        subject: str,
        role: Role | str,
        school: str,
        lesson: str = ANY_LESSON,
        ttl_s: int = 3600,
        grants: Iterable[str] = (),
    ) -> str:
        """A token valid for ``ttl_s`` seconds from now."""
        for name, value in (("subject", subject), ("school", school), ("lesson", lesson)):
            problem = _id_problem(value)
            if problem is not None:
                raise ValueError(f"{name} {problem}")
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        now = int(self._clock())
        payload = {
            "sub": subject,
            "role": Role(role).value,
            "school": school,
            "lesson": lesson,
            "grants": list(grants),
            "iat": now,
            "exp": now + ttl_s,
            "iss": ISSUER,
        }
        return jwt.encode(payload, self._secret, algorithm=_ALGORITHM)

    def verify(self, token: str | None) -> Claims:
        """The token's claims; raises Unauthorized if missing, invalid, expired or unknown."""
        if not token:
            raise Unauthorized("missing bearer token")
        if len(token) > _MAX_TOKEN_CHARS:
            raise Unauthorized("token too long")
        payload = self._decode(token)
        return _claims(payload)

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                issuer=ISSUER,
                options={"require": ["sub", "exp", "iat", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"invalid token: {exc}") from None


def _id_problem(value: str) -> str | None:
    """Subjects, schools and lesson scopes are ids: 1..MAX_ID_CHARS characters, no control characters."""
    if not value:
        return "must not be empty"
    if len(value) > MAX_ID_CHARS:
        return f"must be at most {MAX_ID_CHARS} characters"
    return text_problem(value, lines=False)


def _claims(payload: dict[str, Any]) -> Claims:
    try:
        role = Role(payload.get("role"))
    except ValueError:
        raise Unauthorized(f"unknown role {payload.get('role')!r}") from None
    for name in ("sub", "school", "lesson"):
        value = payload.get(name)
        if not isinstance(value, str) or not value:
            raise Unauthorized("invalid token: sub, school and lesson must be non-empty strings")
        problem = _id_problem(value)
        if problem is not None:
            raise Unauthorized(f"invalid token: {name} {problem}")
    grants = payload.get("grants", [])
    if not isinstance(grants, list) or not all(isinstance(g, str) for g in grants):
        raise Unauthorized("invalid token: grants must be a list of strings")
    return Claims(
        principal=Principal(school=payload["school"], role=role, subject=payload["sub"]),
        lesson=payload["lesson"],
        grants=tuple(grants),
        expires_at=int(payload["exp"]),
    )
