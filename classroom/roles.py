"""Who a token speaks for."""

from __future__ import annotations

import enum

__all__ = ["Role"]


class Role(str, enum.Enum):
    """The role carried by an access token."""

    TEACHER = "teacher"
    CLASSROOM = "classroom"
    STUDENT = "student"
    ADMIN = "admin"
