"""Synthetic inputs of the credit-bank benchmark (bench/ledger.py): plausible, seeded, deterministic.

- ``Cohort``: schools, classrooms, students and one course, written with the directory's own
  transaction-level functions (``server.directory.store``) and its validators (``classroom.people``).
- ``lesson_batches``: the presence events of a 2-hour lesson, grouped the way the server appends
  them (one heartbeat batch per 15 s tick for every open session, one batch per roster tick, per
  roll-call answer, per join/leave and per self check-in).
- ``ledger_batches``: ledger drafts in a realistic mix of kinds, with refs to earlier entries.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from classroom.attendance import PresenceEvent, PresenceKind
from classroom.ledger import EntryDraft, EntryKind
from classroom.people import new_classroom, new_course, new_school, new_student
from server.directory.store import enrol_in, insert_classroom_in, insert_course_in, insert_student_in, put_school_in
from server.edge.database import Tx
from server.ledger.store import append_in
from server.presence.connections import HEARTBEAT_S
from server.presence.service import ROLLCALL_ANSWER_S

__all__ = ["LESSON_S", "ROLLCALLS_MIN", "Batch", "Cohort", "ledger_batches", "lesson_batches", "seed_history_in"]

LESSON_S = 7200.0
ROLLCALLS_MIN = (20, 50, 80, 105)
SCHOOLS = ("east", "north", "south", "west")  # east teaches; the others send remote classrooms
COURSE = "east-cnc-101"
COURSE_CREDITS = "1.5"
PRIOR_LESSONS = 6
"""Earlier lessons already in every student's account (9 credits: this lesson takes east's to iron)."""


@dataclass(frozen=True)
class Batch:
    """One ``PresenceLog.append`` call: when the server makes it, by whom, with which events."""

    at: float
    author: str
    events: list[PresenceEvent]


@dataclass(frozen=True)
class Cohort:
    """``rooms`` classrooms of ``per_room`` students each, spread over SCHOOLS, all enrolled in COURSE."""

    rooms: int
    per_room: int

    def room(self, k: int) -> str:
        return f"{SCHOOLS[k % len(SCHOOLS)]}-room-{k:02d}"

    def school(self, k: int) -> str:
        return SCHOOLS[k % len(SCHOOLS)]

    def students(self, k: int) -> list[str]:
        return [f"SW-{k:02d}-{i:03d}" for i in range(self.per_room)]

    def seed_in(self, tx: Tx) -> None:
        """The directory rows, in one transaction."""
        for school in SCHOOLS:
            put_school_in(tx, new_school(school, f"{school.title()} Technical School"))
        insert_course_in(tx, new_course(COURSE, "east", "CNC machining 101", COURSE_CREDITS))
        for k in range(self.rooms):
            insert_classroom_in(tx, new_classroom(self.room(k), self.school(k), f"Workshop {k}"))
            for code in self.students(k):
                insert_student_in(tx, new_student(code, f"Student {code}", self.school(k), self.room(k)))
                enrol_in(tx, COURSE, code)


def seed_history_in(tx: Tx, cohort: Cohort, at: str) -> int:
    """PRIOR_LESSONS earned-and-recognised lessons per student at their home school; entries appended."""
    drafts: list[EntryDraft] = []
    seq = 0
    for k in range(cohort.rooms):
        school = cohort.school(k)
        for code in cohort.students(k):
            for n in range(PRIOR_LESSONS):
                lesson = f"{school}-earlier-{n}"
                drafts.append(EntryDraft(key=f"earned:{lesson}:{code}:1", kind=EntryKind.EARNED, student=code,
                                         school=school, course=f"{school}-basics", lesson=lesson, amount=150,
                                         author="system", reason="attended: present",
                                         detail={"policy": "2026.1", "status": "present", "home_school": school}))
                seq += 1
                drafts.append(EntryDraft(key=f"recognise:{seq}", kind=EntryKind.RECOGNISED, student=code,
                                         school=school, course=f"{school}-basics", lesson=lesson, amount=150, ref=seq,
                                         author="system", reason="earned at the home school"))
                seq += 1
    append_in(tx, drafts, at, None)
    return len(drafts)


# --- the presence events of one lesson -----------------------------------------------------------


@dataclass
class _Room:
    """What one classroom does during the lesson (times in seconds from the lesson's start)."""

    k: int
    id: str
    sessions: list[tuple[str, float, float, bool]]  # (session id, join, end, clean leave)
    checkin: dict[str, float] = field(default_factory=dict)  # student -> first check-in
    checkout: dict[str, float] = field(default_factory=dict)  # student -> early check-out
    silent: set[int] = field(default_factory=set)  # roll calls it does not answer

    def connected(self, t: float) -> bool:
        return any(start <= t < end for _, start, end, _ in self.sessions)

    def here(self, t: float) -> list[str]:
        return [s for s, since in self.checkin.items() if since <= t and self.checkout.get(s, 1e18) > t]


def _plan_room(cohort: Cohort, k: int, rng: random.Random) -> _Room:
    room = cohort.room(k)
    join = rng.uniform(60.0, 95.0) if k % 8 == 3 else rng.uniform(0.0, 20.0)  # 5 rooms a minute late
    if k % 10 == 7:  # 4 rooms drop for 3 to 10 minutes and reconnect with a new session
        drop = rng.uniform(1800.0, 5400.0)
        back = drop + rng.uniform(180.0, 600.0)
        sessions = [(f"{room}-{rng.getrandbits(32):08x}", join, drop, False),
                    (f"{room}-{rng.getrandbits(32):08x}", back, LESSON_S, True)]
    else:
        sessions = [(f"{room}-{rng.getrandbits(32):08x}", join, LESSON_S, True)]
    plan = _Room(k, room, sessions)
    tick = join + rng.uniform(30.0, 120.0)
    for i, code in enumerate(cohort.students(k)):
        if i == 0 and k % 2 == 1:
            continue  # absent
        late = i in (1, 2) and k % 4 == 2
        plan.checkin[code] = rng.uniform(600.0, 2400.0) if late else tick
        if i in (3, 4) and k % 4 == 0:
            plan.checkout[code] = rng.uniform(5400.0, 6600.0)
    plan.silent = {1} if k % 20 == 13 else ({2} if k % 20 == 9 else set())
    return plan


def _event(lesson: str, kind: PresenceKind, at: float, key: str, **fields: str) -> PresenceEvent:
    return PresenceEvent(lesson=lesson, kind=kind, at=at, key=f"{lesson}:{key}", **fields)


def _connection_batches(lesson: str, t0: float, rooms: list[_Room]) -> Iterator[Batch]:
    for room in rooms:
        for session, start, end, clean in room.sessions:
            yield Batch(t0 + start, "server", [_event(lesson, PresenceKind.CLASSROOM_JOIN, t0 + start,
                                                      f"join:{session}", classroom=room.id, session=session,
                                                      source="server")])
            if clean:
                yield Batch(t0 + end, "server", [_event(lesson, PresenceKind.CLASSROOM_LEAVE, t0 + end,
                                                        f"leave:{session}", classroom=room.id, session=session,
                                                        source="server")])
    for beat in range(1, int(LESSON_S // HEARTBEAT_S) + 1):  # the server beats every open session at once
        t = beat * HEARTBEAT_S
        events = [_event(lesson, PresenceKind.CLASSROOM_HEARTBEAT, t0 + t, f"beat:{session}:{beat}",
                         classroom=room.id, session=session, source="server")
                  for room in rooms for session, start, end, _ in room.sessions if start <= t < end]
        if events:
            yield Batch(t0 + t, "server", events)


def _checkin_batches(lesson: str, t0: float, rooms: list[_Room], rng: random.Random) -> Iterator[Batch]:
    for room in rooms:
        tick = min(room.checkin.values())
        ticked = [code for code, at in room.checkin.items() if at == tick]
        yield Batch(t0 + tick, room.id, [_event(lesson, PresenceKind.STUDENT_CHECKIN, t0 + tick,
                                                f"roster:{room.id}:tick-1:in:{code}", classroom=room.id,
                                                student=code, source="roster") for code in ticked])
        for code, at in room.checkin.items():
            if at != tick or rng.random() < 0.3:  # late arrivals, and a third who also enter the screen code
                at = at if at != tick else tick + rng.uniform(5.0, 240.0)
                yield Batch(t0 + at, code, [_event(lesson, PresenceKind.STUDENT_CHECKIN, t0 + at,
                                                   f"self:{room.id}:{code}:{int((t0 + at) // 30)}",
                                                   classroom=room.id, student=code, source="self")])
        for n, (code, at) in enumerate(sorted(room.checkout.items(), key=lambda item: item[1])):
            yield Batch(t0 + at, room.id, [_event(lesson, PresenceKind.STUDENT_CHECKOUT, t0 + at,
                                                  f"roster:{room.id}:tick-out-{n}:out:{code}", classroom=room.id,
                                                  student=code, source="roster")])


def _rollcall_batches(lesson: str, t0: float, rooms: list[_Room], rng: random.Random) -> Iterator[Batch]:
    for n, minute in enumerate(ROLLCALLS_MIN):
        t, rollcall = minute * 60.0, f"rc{n}{rng.getrandbits(24):06x}"
        yield Batch(t0 + t, "alice", [_event(lesson, PresenceKind.ROLLCALL_OPEN, t0 + t, f"rollcall:{rollcall}",
                                             rollcall=rollcall, source="teacher")])
        for room in rooms:
            if n in room.silent or not room.connected(t):
                continue
            at = t + rng.uniform(10.0, ROLLCALL_ANSWER_S - 20.0)
            yield Batch(t0 + at, room.id, [
                _event(lesson, PresenceKind.ROLLCALL_ANSWER, t0 + at, f"rollcall:{rollcall}:{room.id}:{code}",
                       classroom=room.id, student=code, source="rollcall", rollcall=rollcall)
                for code in room.here(t)])


def lesson_batches(lesson: str, t0: float, cohort: Cohort, seed: int = 7) -> list[Batch]:
    """Every append the server makes for the lesson starting at ``t0``, in time order."""
    rng = random.Random(seed)
    rooms = [_plan_room(cohort, k, rng) for k in range(cohort.rooms)]
    batches = [*_connection_batches(lesson, t0, rooms), *_checkin_batches(lesson, t0, rooms, rng),
               *_rollcall_batches(lesson, t0, rooms, rng)]
    batches = [batch for batch in batches if batch.events]
    batches.sort(key=lambda batch: batch.at)
    return batches


# --- ledger entries --------------------------------------------------------------------------------

_CYCLE = 20
"""Per 20 entries: 10 earned, 7 recognised, 1 reversal, 1 recognition voided, 1 level change."""


def _cycle(c: int, first_seq: int) -> list[EntryDraft]:
    lesson, school = f"lesson-{c // 5:06d}", SCHOOLS[c % len(SCHOOLS)]
    students = [f"SW-{(c * 10 + i) % 20_000:06d}" for i in range(10)]
    earned = [EntryDraft(key=f"earned:{lesson}:{code}:{c}", kind=EntryKind.EARNED, student=code, school=school,
                         course=COURSE, lesson=lesson, amount=150, author="system", reason="attended: present",
                         detail={"policy": "2026.1", "status": "present", "home_school": school})
              for code in students]
    recognised = [EntryDraft(key=f"recognise:{first_seq + i}", kind=EntryKind.RECOGNISED, student=students[i],
                             school=school, course=COURSE, lesson=lesson, amount=150, ref=first_seq + i,
                             author="system", reason="earned at the home school") for i in range(7)]
    reversal = EntryDraft(key=f"reverse:{first_seq + 7}", kind=EntryKind.REVERSAL, student=students[7],
                          school=school, course=COURSE, lesson=lesson, amount=-150, ref=first_seq + 7,
                          author="carol", reason="attendance corrected: absent")
    voided = EntryDraft(key=f"void:{first_seq + 8}", kind=EntryKind.RECOGNITION_VOIDED, student=students[8],
                        school="north", course=COURSE, lesson=lesson, amount=0, ref=first_seq + 8, author="dave",
                        reason="not part of our programme")
    level = EntryDraft(key=f"level:{students[9]}:{c}", kind=EntryKind.LEVEL_CHANGE, student=students[9],
                       school=school, author="system", reason="recognised credits reached the iron level",
                       detail={"from": "tin", "to": "iron", "recognised": 1050})
    return [*earned, *recognised, reversal, voided, level]


def ledger_batches(total: int, batch: int) -> Iterator[list[EntryDraft]]:
    """``total`` drafts (a multiple of 20) for an empty ledger, ``batch`` (a multiple of 20) at a time."""
    if total % _CYCLE or batch % _CYCLE:
        raise ValueError(f"entries and batch must be multiples of {_CYCLE}")
    for start in range(0, total, batch):
        drafts: list[EntryDraft] = []
        for c in range(start // _CYCLE, min(total, start + batch) // _CYCLE):
            drafts += _cycle(c, c * _CYCLE + 1)
        yield drafts
