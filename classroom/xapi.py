"""Attendance as xAPI 1.0.3 statements (IEEE 9274.1.1): "attended" and "completed".

For every student with counted time a statement with the ADL verb ``attended`` (object: the
lesson as a meeting activity; result: duration and completion); for every student whose
attendance earns credit, a second one with ``completed``. Students are identified by an account
(home page: their home school on this server; name: their skill-worker code), not by e-mail.
Statement ids are name-based UUIDs of (lesson, student, verb, status), so exporting twice gives
the same ids and a learning record store keeps one copy.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from classroom.attendance import LessonAttendance, Status, StudentAttendance
from classroom.lessons import Lesson

__all__ = ["ATTENDED", "COMPLETED", "MEETING", "XAPI_VERSION", "iso_duration", "statements"]

XAPI_VERSION = "1.0.3"
ATTENDED = "http://adlnet.gov/expapi/verbs/attended"
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
MEETING = "http://adlnet.gov/expapi/activities/meeting"
_NAMESPACE = uuid.UUID("6f1c3f7e-7c1e-4c55-9d6a-2b4f0f3f5a11")
_EXTENSION = "https://cloud-classroom.example/xapi/extensions/"


def iso_duration(seconds: float) -> str:
    """ISO 8601 duration with centisecond precision, as xAPI asks: ``PT1H2M3.45S``."""
    centis = max(0, round(seconds * 100))
    hours, rest = divmod(centis, 360000)
    minutes, rest = divmod(rest, 6000)
    whole, frac = divmod(rest, 100)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if frac:
        return text + f"{whole}.{frac:02d}S"
    return text + f"{whole}S" if whole or text == "PT" else text


def _timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _actor(code: str, school: str, base_url: str) -> dict[str, Any]:
    return {"objectType": "Agent", "account": {"homePage": f"{base_url}/schools/{school or 'unknown'}", "name": code}}


def _object(lesson: Lesson, base_url: str) -> dict[str, Any]:
    return {"objectType": "Activity", "id": f"{base_url}/lessons/{lesson.id}",
            "definition": {"type": MEETING, "name": {"en": lesson.title}}}


def _statement(lesson: Lesson, attendance: LessonAttendance, row: StudentAttendance, verb: str, school: str,
               base_url: str) -> dict[str, Any]:
    display = "attended" if verb == ATTENDED else "completed"
    seed = f"{lesson.id}|{row.student}|{display}|{row.status.value}|{attendance.policy_version}"
    return {
        "id": str(uuid.uuid5(_NAMESPACE, seed)),
        "actor": _actor(row.student, school, base_url),
        "verb": {"id": verb, "display": {"en": display}},
        "object": _object(lesson, base_url),
        "result": {"duration": iso_duration(row.seconds), "completion": row.credit, "success": row.credit,
                   "score": {"scaled": round(row.share, 4)},
                   "extensions": {f"{_EXTENSION}status": row.status.value,
                                  f"{_EXTENSION}policy-version": attendance.policy_version}},
        "context": {"platform": "cloud-classroom", "language": "zh-CN",
                    "contextActivities": {"grouping": [{"objectType": "Activity",
                                                        "id": f"{base_url}/courses/{lesson.course or 'none'}"}]}},
        "timestamp": _timestamp(attendance.window.end),
        "version": XAPI_VERSION,
    }


def statements(lesson: Lesson, attendance: LessonAttendance, schools: Mapping[str, str],
               base_url: str) -> list[dict[str, Any]]:
    """The statements of a lesson's attendance, ``attended`` before ``completed`` per student."""
    found: list[dict[str, Any]] = []
    for row in attendance.students:
        if row.status in (Status.ABSENT, Status.EXCUSED):
            continue
        school = schools.get(row.student, "")
        found.append(_statement(lesson, attendance, row, ATTENDED, school, base_url))
        if row.credit:
            found.append(_statement(lesson, attendance, row, COMPLETED, school, base_url))
    return found
