"""Attendance of a live lesson: presence events in, a status and credit per student out.

Pure and deterministic: ``compute_attendance`` replays the lesson's presence events under a
versioned ``Policy``; ``apply_overrides`` lays an admin's judgement on top. The rules are in
``compute``'s docstring and, for admins, in docs/attendance.md.

Note: ``classroom.attendance.policy`` as an attribute of this package is the ``policy(version)``
function, not the module; import the module's names with ``from classroom.attendance.policy import``.
"""

from __future__ import annotations

from classroom.attendance.compute import (
    CREDITED,
    ClassroomAttendance,
    Excuse,
    ExpectedStudent,
    LessonAttendance,
    Status,
    StudentAttendance,
    compute_attendance,
)
from classroom.attendance.events import PresenceEvent, PresenceKind, event_order
from classroom.attendance.intervals import Interval, clip, covers, intersect, merge, total, union
from classroom.attendance.overrides import Override, apply_overrides
from classroom.attendance.policy import CURRENT_POLICY, POLICIES, Policy, policy

__all__ = [
    "CREDITED",
    "CURRENT_POLICY",
    "POLICIES",
    "ClassroomAttendance",
    "Excuse",
    "ExpectedStudent",
    "Interval",
    "LessonAttendance",
    "Override",
    "Policy",
    "PresenceEvent",
    "PresenceKind",
    "Status",
    "StudentAttendance",
    "apply_overrides",
    "clip",
    "compute_attendance",
    "covers",
    "event_order",
    "intersect",
    "merge",
    "policy",
    "total",
    "union",
]
