"""Signed access tokens."""

from __future__ import annotations

import time

import jwt
import pytest

from classroom.roles import Role
from server.edge.errors import Unauthorized
from server.edge.tokens import TokenCodec

SECRET = b"s" * 32


def test_issued_token_verifies_to_its_claims() -> None:
    codec = TokenCodec(SECRET)
    token = codec.issue("alice", Role.TEACHER, "east", lesson="L1", ttl_s=600, grants=("record",))
    claims = codec.verify(token)
    assert (claims.subject, claims.role, claims.school, claims.lesson) == ("alice", Role.TEACHER, "east", "L1")
    assert claims.grants == ("record",)
    assert abs(claims.expires_at - (time.time() + 600)) < 5


def test_lesson_scope_defaults_to_any_lesson() -> None:
    codec = TokenCodec(SECRET)
    assert codec.verify(codec.issue("n1", "classroom", "west")).lesson == "*"


def test_expired_token_is_unauthorized() -> None:
    past = TokenCodec(SECRET, clock=lambda: time.time() - 7200)
    with pytest.raises(Unauthorized, match="expired"):
        TokenCodec(SECRET).verify(past.issue("alice", Role.TEACHER, "east", ttl_s=3600))


def test_tampered_token_is_unauthorized() -> None:
    codec = TokenCodec(SECRET)
    header, payload, signature = codec.issue("li", Role.STUDENT, "east").split(".")
    forged = jwt.encode({"sub": "li", "role": "admin"}, b"x" * 32, algorithm="HS256").split(".")[1]
    with pytest.raises(Unauthorized, match="invalid"):
        codec.verify(f"{header}.{forged}.{signature}")


def test_token_signed_with_another_secret_is_unauthorized() -> None:
    token = TokenCodec(b"o" * 32).issue("alice", Role.TEACHER, "east")
    with pytest.raises(Unauthorized, match="invalid"):
        TokenCodec(SECRET).verify(token)


@pytest.mark.parametrize("token", [None, "", "not-a-jwt", "a.b.c"])
def test_missing_or_garbage_token_is_unauthorized(token: str | None) -> None:
    with pytest.raises(Unauthorized):
        TokenCodec(SECRET).verify(token)


def test_unknown_role_is_unauthorized() -> None:
    now = int(time.time())
    payload = {"sub": "x", "role": "janitor", "school": "east", "lesson": "*", "iat": now, "exp": now + 60}
    token = jwt.encode({**payload, "iss": "classroom"}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized, match="unknown role"):
        TokenCodec(SECRET).verify(token)


def test_token_from_another_issuer_is_unauthorized() -> None:
    now = int(time.time())
    payload = {"sub": "x", "role": "admin", "school": "east", "lesson": "*", "iat": now, "exp": now + 60}
    token = jwt.encode({**payload, "iss": "elsewhere"}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized):
        TokenCodec(SECRET).verify(token)


def test_unsigned_alg_none_token_is_unauthorized() -> None:
    now = int(time.time())
    payload = {"sub": "x", "role": "admin", "school": "east", "lesson": "*", "iat": now, "exp": now + 60}
    token = jwt.encode({**payload, "iss": "classroom"}, "", algorithm="none")
    with pytest.raises(Unauthorized):
        TokenCodec(SECRET).verify(token)


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        TokenCodec(b"short")


@pytest.mark.parametrize(("field", "value"), [("sub", "alice\x1b[31m"), ("sub", "a\x00b"), ("school", "east\n"),
                                              ("lesson", "L1\x9b"), ("sub", "x" * 129)])
def test_a_signed_token_whose_ids_hold_control_characters_or_are_too_long_is_unauthorized(
        field: str, value: str) -> None:
    """Ids from a token end up in presence broadcasts, logs and ledger authors: refuse them at the edge."""
    now = int(time.time())
    payload = {"sub": "alice", "role": "teacher", "school": "east", "lesson": "*", "iat": now, "exp": now + 60,
               "iss": "classroom", field: value}
    with pytest.raises(Unauthorized, match=f"{field} must"):
        TokenCodec(SECRET).verify(jwt.encode(payload, SECRET, algorithm="HS256"))


@pytest.mark.parametrize("subject", ["alice\x1b[31m", "", "x" * 129])
def test_the_token_command_refuses_such_ids(subject: str) -> None:
    with pytest.raises(ValueError, match="subject must"):
        TokenCodec(SECRET).issue(subject, Role.TEACHER, "east")
