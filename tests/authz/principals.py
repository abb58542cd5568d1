"""The principals of the authorisation matrix: role x school x lesson scope, with fixed subjects.

Each role has one subject, the one that is legitimate in the resource's school ("east"): the
lesson's teacher ``alice``, the classroom ``east-lab`` (whose roster holds the student), the
student ``EA-0001`` and the admin ``root``. The same subject with school "west" is another
principal: an impostor where only the east one is allowed (identity is (school, role, subject),
never a subject alone), or a legitimate outsider (a western admin or classroom) where the rules
allow another school. ``other-teacher`` (``bob``) is a teacher of the same school who does not
teach the lesson. Scopes: the lesson under test, every lesson (``*``), or another lesson.
"""

from __future__ import annotations

from dataclasses import dataclass

from classroom.roles import Role
from server.edge.tokens import TokenCodec

__all__ = [
    "ALL_LESSONS", "ANONYMOUS", "ANOTHER_LESSON", "EAST", "PRINCIPALS", "SUBJECTS", "THE_LESSON", "WEST",
    "Principal",
]

EAST, WEST = "east", "west"
THE_LESSON, ALL_LESSONS, ANOTHER_LESSON = "the-lesson", "all-lessons", "another-lesson"
SUBJECTS = {"teacher": "alice", "other-teacher": "bob", "classroom": "east-lab", "student": "EA-0001",
            "admin": "root"}
_ROLES = {"teacher": Role.TEACHER, "other-teacher": Role.TEACHER, "classroom": Role.CLASSROOM,
          "student": Role.STUDENT, "admin": Role.ADMIN}


@dataclass(frozen=True)
class Principal:
    """``kind`` is a key of SUBJECTS; ``scope`` one of THE_LESSON, ALL_LESSONS, ANOTHER_LESSON."""

    kind: str
    school: str
    scope: str

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.school}-{self.scope}"

    @property
    def role(self) -> Role:
        return _ROLES[self.kind]

    @property
    def subject(self) -> str:
        return SUBJECTS[self.kind]

    @property
    def east(self) -> bool:
        return self.school == EAST

    @property
    def all_lessons(self) -> bool:
        return self.scope == ALL_LESSONS

    @property
    def covers(self) -> bool:
        """The token's scope covers the resource's lesson."""
        return self.scope in (THE_LESSON, ALL_LESSONS)

    def lesson_scope(self, lesson: str, other: str) -> str:
        return {THE_LESSON: lesson, ALL_LESSONS: "*", ANOTHER_LESSON: other}[self.scope]

    def token(self, codec: TokenCodec, lesson: str, other: str) -> str:
        return codec.issue(self.subject, self.role, self.school, lesson=self.lesson_scope(lesson, other))

    def headers(self, codec: TokenCodec, lesson: str, other: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(codec, lesson, other)}"}

    # --- who this principal is, in the resource's school -----------------------------------------

    def is_(self, kind: str) -> bool:
        """The genuine principal of ``kind`` in the east: ``p.is_("teacher")`` is the lesson's teacher."""
        return self.kind == kind and self.east

    def admin_of(self, school: str = EAST) -> bool:
        return self.kind == "admin" and self.school == school


PRINCIPALS: tuple[Principal, ...] = tuple(
    Principal(kind, school, scope)
    for kind in SUBJECTS for school in (EAST, WEST) for scope in (THE_LESSON, ALL_LESSONS, ANOTHER_LESSON)
)
ANONYMOUS = None
"""No token at all: every route but the public ones answers 401."""
