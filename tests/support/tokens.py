"""Tokens minted with an app's own codec, as ``Authorization`` headers."""

from __future__ import annotations

from classroom.roles import Role
from server.edge.tokens import TokenCodec

__all__ = ["Tokens"]


class Tokens:
    """Mints tokens with the app's codec: ``tokens.teacher("alice", lesson="L1")``."""

    def __init__(self, codec: TokenCodec) -> None:
        self.codec = codec

    def mint(self, role: Role, subject: str, *, school: str = "east", lesson: str = "*", ttl_s: int = 3600) -> str:
        return self.codec.issue(subject, role, school, lesson=lesson, ttl_s=ttl_s)

    def headers(self, role: Role, subject: str, **kwargs: object) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.mint(role, subject, **kwargs)}"}  # type: ignore[arg-type]

    def teacher(self, subject: str = "alice", **kwargs: object) -> dict[str, str]:
        return self.headers(Role.TEACHER, subject, **kwargs)

    def admin(self, subject: str = "root", **kwargs: object) -> dict[str, str]:
        return self.headers(Role.ADMIN, subject, **kwargs)

    def classroom(self, subject: str = "nujiang-1", **kwargs: object) -> dict[str, str]:
        return self.headers(Role.CLASSROOM, subject, **kwargs)

    def student(self, subject: str = "li", **kwargs: object) -> dict[str, str]:
        return self.headers(Role.STUDENT, subject, **kwargs)
