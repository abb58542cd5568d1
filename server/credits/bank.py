"""The credit bank's use cases: post lessons, reverse entries, recognise credits, show accounts.

Every write is one transaction that appends ledger entries and signs a checkpoint of the new
head; the API answers only after it committed (fsynced on SQLite, committed on PostgreSQL).

Who may do what:
- postings come from the server itself when a lesson ends (and again after a correction);
- an admin reverses EARNED entries of their school's lessons and RECOGNISED entries of their
  school, with a reason;
- an admin of the student's home school posts or voids a pending recognition and sets the rules;
- a student reads their own account; an admin reads the accounts of their school's students in
  full and, for other students, the entries in their own school's books; anyone else gets 403.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from classroom import fields
from classroom.access import ANY_LESSON, Claims, covers_lesson, is_school_admin, is_student
from classroom.credit_account import account_of
from classroom.errors import Conflict, NotFound, PermissionDenied, ValidationError
from classroom.fields import reject_unknown
from classroom.ledger import Entry, EntryDraft, EntryKind
from classroom.lessons import Lesson
from classroom.levels import Thresholds, format_credits
from classroom.people import normalise_code
from classroom.recognition import RecognitionRule, RecognitionStatus, new_rule, recognised_amount
from classroom.roles import Role
from server.attendance.service import Attendance, LessonView
from server.credits.posting import (
    LessonPlan,
    PlannedStudent,
    Posted,
    StalePlan,
    checkpoint_in,
    level_drafts,
    post_lesson_in,
    reversal_drafts,
)
from server.credits.tables import (
    Recognition,
    add_rule_in,
    mark_posted_in,
    posted_lessons_in,
    recognition_in,
    recognitions_in,
    rule_in,
    rules_in,
)
from server.edge.database import Database, Tx
from server.ledger.checkpoints import CheckpointSigner
from server.ledger.store import (
    append_in,
    entries_for_school_in,
    entries_for_student_in,
    entry_in,
    latest_checkpoint_in,
    lock_head_in,
)
from server.lessons.service import Lessons
from server.presence.service import RosterStudent

__all__ = ["BankDirectory", "CreditBank", "rfc3339"]

log = logging.getLogger(__name__)

MAX_PAGE = 500
POSTING_ATTEMPTS = 3
POSTING_CHUNK = 100
"""Students posted per transaction: other lessons' presence events get the writer in between."""


class BankDirectory(Protocol):
    async def student(self, code: str) -> RosterStudent | None: ...

    async def course_credits(self, course: str) -> int | None: ...


def rfc3339(seconds: float) -> str:
    """``2026-11-24T10:00:00.123456Z``."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _require_admin(claims: Claims, school: str, message: str) -> None:
    """The school's books are administered with an admin token of that school for all lessons."""
    if not is_school_admin(claims, school):
        raise PermissionDenied(message + " (with a token for all lessons)")


class CreditBank:
    def __init__(self, db: Database, signer: CheckpointSigner | None, attendance: Attendance, lessons: Lessons,
                 directory: BankDirectory, thresholds: Thresholds, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._signer = signer
        self._attendance = attendance
        self._lessons = lessons
        self._directory = directory
        self.thresholds = thresholds
        self._clock = clock

    # --- postings from attendance -------------------------------------------------------------

    async def post_lesson(self, lesson_id: str) -> Posted | None:
        """Post the ended lesson's computed attendance; None if the lesson earns no credits."""
        lesson = await self._lessons.get(lesson_id)
        credits = await self._directory.course_credits(lesson.course) if lesson.course else None
        if not credits or lesson.started_at is None:
            log.info("no credits to post lesson=%s course=%s", lesson.id, lesson.course)
            await self._db.transact(mark_posted_in, lesson.id, self._attendance.policy_version,
                                    rfc3339(self._clock()))
            return None
        for _attempt in range(POSTING_ATTEMPTS - 1):
            try:
                posted = await self._post_plan(lesson, credits)
                break
            except StalePlan:
                log.info("lesson corrected while posting; computing again lesson=%s", lesson.id)
        else:
            posted = await self._post_plan(lesson, credits)
        log.info("lesson posted lesson=%s entries=%d existing=%d", lesson.id, len(posted.created), posted.existing)
        return posted

    async def _post_plan(self, lesson: Lesson, credits: int) -> Posted:
        """Compute the attendance and post it, 100 students per transaction; StalePlan if a
        correction came in meanwhile (every transaction re-checks, under the ledger's lock)."""
        plan = _plan(await self._attendance.compute(lesson), credits, self._attendance.policy_version)
        at, posted = rfc3339(self._clock()), Posted(created=[])
        for start in range(0, max(len(plan.students), 1), POSTING_CHUNK):
            part = dataclasses.replace(plan, students=plan.students[start:start + POSTING_CHUNK])
            complete = start + POSTING_CHUNK >= len(plan.students)
            posted.merge(await self._db.transact(post_lesson_in, part, at, self.thresholds, self._signer, complete))
        return posted

    async def post_unposted(self) -> int:
        """Post every ended lesson that has no posting yet (after a stop between end and posting)."""
        ended = [lesson for lesson in await self._lessons.all_started() if lesson.ended_at is not None]
        posted = await self._db.transact(posted_lessons_in, [lesson.id for lesson in ended])
        missing = [lesson.id for lesson in ended if lesson.id not in posted]
        for lesson_id in missing:
            await self.lesson_ended(lesson_id)
        if missing:
            log.info("posted lessons left unposted by an earlier run count=%d", len(missing))
        return len(missing)

    async def lesson_ended(self, lesson_id: str) -> None:
        """Listener for the end of a lesson (and for corrections of an ended one)."""
        try:
            await self.post_lesson(lesson_id)
        except Exception:
            log.exception("lesson not posted lesson=%s (post it again with POST /api/lessons/%s/credits)",
                          lesson_id, lesson_id)

    async def repost(self, claims: Claims, lesson_id: str) -> dict[str, Any]:
        """An admin of the lesson's school posts it again (after a failure); nothing is doubled."""
        lesson = await self._lessons.get(lesson_id)
        if claims.role is not Role.ADMIN or claims.school != lesson.school:
            raise PermissionDenied("only an admin of the lesson's school posts its credits")
        if not covers_lesson(claims, lesson.id):
            raise PermissionDenied(f"token does not cover lesson {lesson.id}")
        if lesson.ended_at is None:
            raise Conflict(f"lesson {lesson.id} has not ended; credits are posted when it ends")
        posted = await self.post_lesson(lesson.id)
        created = posted.created if posted is not None else []
        return {"lesson": lesson.id, "created": [e.to_json() for e in created],
                "existing": posted.existing if posted is not None else 0}

    # --- accounts ---------------------------------------------------------------------------------

    async def account(self, claims: Claims, code: str) -> dict[str, Any]:
        code = normalise_code(code)
        student = await self._directory.student(code)
        entries = await self._db.read(entries_for_student_in, code)
        visible = _visible_entries(claims, code, student, entries)
        full = len(visible) == len(entries)
        account = account_of(code, visible, self.thresholds).to_json()
        if not full:  # another school's admin: the totals of their own books, no level or pending
            account.update(level=None, pending=None)
        return {**account, "home_school": student.school if student else None, "complete": full,
                "thresholds": {level.value: format_credits(t) for level, t in self.thresholds.as_map().items()},
                "entries": [e.to_json() for e in visible]}

    async def school_entries(self, claims: Claims, school: str, limit: int, after_seq: int) -> list[dict[str, Any]]:
        _require_admin(claims, school, "admins read their own school's books")
        entries = await self._db.read(entries_for_school_in, school, min(max(limit, 1), MAX_PAGE), after_seq)
        return [e.to_json() for e in entries]

    # --- reversals ------------------------------------------------------------------------------

    async def reverse(self, claims: Claims, seq: int, body: Mapping[str, Any]) -> tuple[list[Entry], bool]:
        """Reverse an EARNED or RECOGNISED entry (and what depends on it), with a reason."""
        reject_unknown(body, {"reason"})
        reason = fields.reason(body)
        target = await self._db.transact(entry_in, seq)
        if target is None:
            raise NotFound(f"no ledger entry {seq}")
        if target.kind not in (EntryKind.EARNED, EntryKind.RECOGNISED):
            raise ValidationError(f"entry {seq} is {target.kind.value}: only earned and recognised entries are "
                                  "reversed")
        _require_admin(claims, target.school, "admins reverse entries in their own school's books")
        student = await self._directory.student(target.student)
        home = student.school if student is not None else target.school
        return await self._db.transact(self._reverse_in, target, reason, str(claims.principal), home,
                                       rfc3339(self._clock()))

    def _reverse_in(self, tx: Tx, target: Entry, reason: str, author: str, home: str,
                    at: str) -> tuple[list[Entry], bool]:
        lock_head_in(tx)
        entries = entries_for_student_in(tx, target.student)
        posted = Posted(created=[])
        result = posted.add(append_in(tx, reversal_drafts(entries, target, reason, author), at, None))
        if posted.created:
            history = entries + posted.created
            posted.add(append_in(tx, level_drafts(history, target.student, home, self.thresholds), at, None))
        checkpoint_in(tx, at, self._signer, posted)
        return result, bool(posted.created)

    # --- recognition ----------------------------------------------------------------------------

    async def recognitions(self, claims: Claims, status: str | None, limit: int,
                           after_seq: int) -> list[dict[str, Any]]:
        _require_admin(claims, claims.school, "admins read the recognitions of their school")
        wanted = _status(status)
        found = await self._db.read(recognitions_in, claims.school, wanted, min(max(limit, 1), MAX_PAGE),
                                        after_seq)
        return [r.to_json() for r in found]

    async def decide(self, claims: Claims, earned_seq: int, action: str,
                     body: Mapping[str, Any]) -> tuple[list[Entry], bool]:
        """The home school posts (``"post"``) or voids (``"void"``) a pending recognition."""
        reject_unknown(body, {"reason"})
        reason = fields.reason(body, required=action == "void")
        recognition = await self._db.transact(recognition_in, earned_seq)
        if recognition is None:
            raise NotFound(f"no recognition for ledger entry {earned_seq}")
        _require_admin(claims, recognition.home_school, "only an admin of the student's home school decides")
        return await self._db.transact(self._decide_in, recognition, action, reason, str(claims.principal),
                                       rfc3339(self._clock()))

    def _decide_in(self, tx: Tx, recognition: Recognition, action: str, reason: str, author: str,
                   at: str) -> tuple[list[Entry], bool]:
        lock_head_in(tx)
        draft = self._decision(tx, recognition, action, reason, author)
        current = recognition_in(tx, recognition.earned_seq)
        if current is not None and current.status is RecognitionStatus.REVERSED:
            raise Conflict(f"the credit of entry {recognition.earned_seq} was reversed")
        if current is not None and current.status is not RecognitionStatus.PENDING:
            decided = entry_in(tx, current.decided_by) if current.decided_by is not None else None
            if decided is None or decided.key != draft.key:
                raise Conflict(f"recognition of entry {recognition.earned_seq} is already {current.status.value}")
        posted = Posted(created=[])
        result = posted.add(append_in(tx, [draft], at, None))
        if posted.created:
            history = entries_for_student_in(tx, recognition.student)
            posted.add(append_in(tx, level_drafts(history, recognition.student, recognition.home_school,
                                                  self.thresholds), at, None))
        checkpoint_in(tx, at, self._signer, posted)
        return result, bool(posted.created)

    def _decision(self, tx: Tx, r: Recognition, action: str, reason: str, author: str) -> EntryDraft:
        if action == "void":
            return EntryDraft(key=f"void:{r.earned_seq}", kind=EntryKind.RECOGNITION_VOIDED, student=r.student,
                              school=r.home_school, course=r.course, lesson=r.lesson, amount=0, ref=r.earned_seq,
                              author=author, reason=reason)
        rule = rule_in(tx, r.home_school, r.lesson_school, r.course)
        if rule is None:
            raise Conflict(f"no recognition rule maps course {r.course} of school {r.lesson_school}: add one first")
        return EntryDraft(key=f"recognise:{r.earned_seq}", kind=EntryKind.RECOGNISED, student=r.student,
                          school=r.home_school, course=rule.home_course, lesson=r.lesson,
                          amount=recognised_amount(r.amount, rule), ref=r.earned_seq, author=author,
                          reason=reason or "recognised under the school's rule",
                          detail={"lesson_school": r.lesson_school, "lesson_course": r.course,
                                  "factor_pct": rule.factor_pct})

    async def put_rule(self, claims: Claims, body: Mapping[str, Any]) -> RecognitionRule:
        _require_admin(claims, claims.school, "admins set their school's recognition rules")
        rule = new_rule(claims.school, body)
        await self._db.transact(add_rule_in, rule, str(claims.principal), self._clock())
        return rule

    async def rules(self, claims: Claims) -> list[RecognitionRule]:
        _require_admin(claims, claims.school, "admins read their school's recognition rules")
        return await self._db.read(rules_in, claims.school)

    # --- checkpoints --------------------------------------------------------------------------------

    async def checkpoint(self) -> dict[str, Any]:
        """The latest signed checkpoint and the key to check it with."""
        checkpoint = await self._db.read(latest_checkpoint_in)
        return {"checkpoint": None if checkpoint is None else checkpoint.to_json(),
                "public_key": self._signer.public_key_pem() if self._signer is not None else None}


def _status(status: str | None) -> RecognitionStatus | None:
    if status is None:
        return None
    try:
        return RecognitionStatus(status)
    except ValueError:
        raise ValidationError(f"status must be one of {', '.join(s.value for s in RecognitionStatus)}") from None


def _visible_entries(claims: Claims, code: str, student: RosterStudent | None,
                     entries: Sequence[Entry]) -> list[Entry]:
    if claims.role is Role.STUDENT:
        if not is_student(claims, code, None if student is None else student.school):
            raise PermissionDenied("students read only their own credits")
        return list(entries)
    if claims.role is not Role.ADMIN or claims.lesson != ANY_LESSON:
        raise PermissionDenied("credits are read by the student and by admins with an all-lessons token")
    if student is not None and student.school == claims.school:
        return list(entries)
    own_books = [e for e in entries if e.school == claims.school]
    if not own_books:
        raise PermissionDenied(f"student {code} is not of your school and has no entries in your books")
    return own_books


def _plan(view: LessonView, credits: int, policy_version: str) -> LessonPlan:
    lesson = view.lesson
    students = tuple(
        PlannedStudent(code=row.student, home_school=view.schools[row.student], credit=row.credit,
                       status=row.status.value)
        for row in view.attendance.students if view.schools.get(row.student)
    )
    return LessonPlan(lesson=lesson.id, school=lesson.school, course=lesson.course or "", credits=credits,
                      policy_version=policy_version, students=students, corrections=view.corrections)
