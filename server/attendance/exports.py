"""Attendance as CSV: one row per student, for spreadsheets and school registries."""

from __future__ import annotations

import csv
import io

from server.attendance.service import LessonView

__all__ = ["CSV_COLUMNS", "attendance_csv"]

CSV_COLUMNS = ("lesson", "course", "student", "school", "classrooms", "status", "computed_status", "minutes",
               "share", "late", "left_early", "credit", "override_reason", "override_author", "policy_version")


def _cell(value: str) -> str:
    """Neutralise spreadsheet formulas (CSV injection): a leading = + - @ becomes text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def attendance_csv(view: LessonView) -> str:
    """The CSV text (UTF-8 with a header row; times in minutes, share as a fraction)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    attendance = view.attendance
    for row in attendance.students:
        writer.writerow([
            attendance.lesson, view.lesson.course or "", row.student, _cell(view.schools.get(row.student, "")),
            _cell(" ".join(row.classrooms)), row.status.value, row.computed_status.value,
            f"{row.seconds / 60.0:.2f}", f"{row.share:.4f}", str(row.late).lower(), str(row.left_early).lower(),
            str(row.credit).lower(), _cell(row.override_reason), _cell(row.override_author),
            attendance.policy_version,
        ])
    return out.getvalue()
