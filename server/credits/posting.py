"""Posting a lesson's attendance into the ledger, inside one transaction.

For each student the posting compares what the attendance says (credit or not) with what the
ledger already holds for that lesson, and appends only the difference:

- credit due and no active EARNED entry: append EARNED (and, for a student of the teaching school,
  RECOGNISED at once; for a student of another school, a pending recognition);
- no credit due but an active EARNED entry (an override or excuse changed the result): append a
  REVERSAL of it and of its RECOGNISED entry, if any;
- an EARNED entry that an admin (not the bank) reversed stays reversed: a later recomputation
  does not quietly bring the credit back.

Keys are derived from the lesson, the student and what is already there, so posting the same
lesson twice, or from two nodes at once, appends nothing new ("exists").
After the credits, every touched student's level is checked; a change is a LEVEL_CHANGE entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from classroom.credit_account import SYSTEM_AUTHOR, account_of, active, reversed_seqs
from classroom.ledger import Entry, EntryDraft, EntryKind
from classroom.levels import Thresholds
from classroom.recognition import RecognitionStatus
from server.attendance.store import corrections_count_in
from server.credits.tables import Recognition, add_recognition_in, mark_posted_in
from server.edge.database import Tx
from server.ledger.checkpoints import CheckpointSigner
from server.ledger.store import Appended, append_in, entries_for_student_in, lock_head_in, sign_head_in

__all__ = ["LessonPlan", "PlannedStudent", "Posted", "StalePlan", "level_drafts", "post_lesson_in",
           "reversal_drafts"]


@dataclass(frozen=True)
class PlannedStudent:
    code: str
    home_school: str
    credit: bool
    status: str


@dataclass(frozen=True)
class LessonPlan:
    lesson: str
    school: str
    course: str
    credits: int
    policy_version: str
    students: tuple[PlannedStudent, ...]
    corrections: int = 0
    """how many overrides and excuses the attendance was computed with"""


class StalePlan(Exception):
    """The lesson was corrected after its attendance was computed: compute again."""


@dataclass
class Posted:
    created: list[Entry]
    existing: int = 0

    def merge(self, other: Posted) -> None:
        self.created.extend(other.created)
        self.existing += other.existing

    def add(self, appended: Sequence[Appended]) -> list[Entry]:
        for item in appended:
            if item.created:
                self.created.append(item.entry)
            else:
                self.existing += 1
        return [item.entry for item in appended]


def reversal_drafts(entries: Sequence[Entry], target: Entry, reason: str, author: str) -> list[EntryDraft]:
    """Reverse ``target`` and, for an EARNED entry, its active RECOGNISED entry."""
    drafts = [_reversal(target, reason, author)]
    if target.kind is EntryKind.EARNED:
        drafts += [_reversal(e, reason, author) for e in active(entries, EntryKind.RECOGNISED) if e.ref == target.seq]
    return drafts


def _reversal(target: Entry, reason: str, author: str) -> EntryDraft:
    return EntryDraft(key=f"reverse:{target.seq}", kind=EntryKind.REVERSAL, student=target.student,
                      school=target.school, course=target.course, lesson=target.lesson, amount=-target.amount,
                      ref=target.seq, author=author, reason=reason)


def level_drafts(entries: Sequence[Entry], student: str, home_school: str, thresholds: Thresholds) -> list[EntryDraft]:
    """A LEVEL_CHANGE entry if the student's recognised credits (all of ``entries``, the student's
    whole history) moved them to another level."""
    account = account_of(student, entries, thresholds)
    if account.level is account.recorded_level:
        return []
    return [EntryDraft(key=f"level:{student}:{account.level_changes + 1}", kind=EntryKind.LEVEL_CHANGE,
                       student=student, school=home_school, author=SYSTEM_AUTHOR,
                       reason=f"recognised credits reached the {account.level.value} level"
                       if account.level.rank > account.recorded_level.rank
                       else f"recognised credits fell below the {account.recorded_level.value} level",
                       detail={"from": account.recorded_level.value, "to": account.level.value,
                               "recognised": account.recognised})]


def _earned_draft(plan: LessonPlan, student: PlannedStudent, attempt: int) -> EntryDraft:
    return EntryDraft(key=f"earned:{plan.lesson}:{student.code}:{attempt}", kind=EntryKind.EARNED,
                      student=student.code, school=plan.school, course=plan.course, lesson=plan.lesson,
                      amount=plan.credits, author=SYSTEM_AUTHOR, reason=f"attended: {student.status}",
                      detail={"policy": plan.policy_version, "status": student.status,
                              "home_school": student.home_school})


def _recognise_own(plan: LessonPlan, earned: Entry) -> EntryDraft:
    return EntryDraft(key=f"recognise:{earned.seq}", kind=EntryKind.RECOGNISED, student=earned.student,
                      school=plan.school, course=plan.course, lesson=plan.lesson, amount=earned.amount,
                      ref=earned.seq, author=SYSTEM_AUTHOR, reason="earned at the home school")


def _post_student(tx: Tx, plan: LessonPlan, student: PlannedStudent, at: str, posted: Posted) -> list[Entry] | None:
    """Append what ``student`` needs; their whole history afterwards, or None if nothing changed."""
    entries = entries_for_student_in(tx, student.code)
    earned = [e for e in entries if e.kind is EntryKind.EARNED and e.lesson == plan.lesson]
    reversals = reversed_seqs(entries)
    live = [e for e in earned if e.seq not in reversals]
    overruled = any(reversals[e.seq].author != SYSTEM_AUTHOR for e in earned if e.seq in reversals)
    before = len(posted.created)
    if student.credit and not live and not overruled:
        new = posted.add(append_in(tx, [_earned_draft(plan, student, len(earned) + 1)], at, None))[0]
        _follow_up(tx, plan, student, new, at, posted)
    elif not student.credit and live:
        reason = f"attendance corrected: {student.status}"
        for target in live:
            posted.add(append_in(tx, reversal_drafts(entries, target, reason, SYSTEM_AUTHOR), at, None))
    return entries + posted.created[before:] if len(posted.created) > before else None


def _follow_up(tx: Tx, plan: LessonPlan, student: PlannedStudent, earned: Entry, at: str, posted: Posted) -> None:
    if student.home_school == plan.school:
        posted.add(append_in(tx, [_recognise_own(plan, earned)], at, None))
        return
    add_recognition_in(tx, Recognition(
        earned_seq=earned.seq, student=earned.student, home_school=student.home_school, lesson_school=plan.school,
        course=plan.course, lesson=plan.lesson, amount=earned.amount, at=earned.at,
        status=RecognitionStatus.PENDING, decided_by=None))


def post_lesson_in(tx: Tx, plan: LessonPlan, at: str, thresholds: Thresholds,
                   signer: CheckpointSigner | None, complete: bool = True) -> Posted:
    """Post ``plan`` and the level changes it causes; one signed checkpoint at the end.

    A large lesson is posted in several transactions of part of its students each (so presence
    events of other lessons are not held up); only the last, ``complete``, marks it posted.
    """
    lock_head_in(tx)
    if corrections_count_in(tx, plan.lesson) != plan.corrections:
        raise StalePlan(f"lesson {plan.lesson} was corrected while its posting was prepared")
    posted = Posted(created=[])
    for student in plan.students:
        history = _post_student(tx, plan, student, at, posted)
        if history is not None:
            posted.add(append_in(tx, level_drafts(history, student.code, student.home_school, thresholds), at, None))
    checkpoint_in(tx, at, signer, posted)
    if complete:
        mark_posted_in(tx, plan.lesson, plan.policy_version, at)
    return posted


def checkpoint_in(tx: Tx, at: str, signer: CheckpointSigner | None, posted: Posted) -> None:
    """Sign the head once, after a transaction appended entries."""
    if signer is not None and posted.created:
        sign_head_in(tx, at, signer)
