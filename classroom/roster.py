"""Roster import: a school's students as CSV, parsed and checked row by row, then planned.

The file is UTF-8 (a byte-order mark at the start is ignored) with a header line naming the
columns ``code,name,classroom`` and optionally ``course`` (enrol the student in that course), in
any order and any case; empty cells at the end of a line are ignored. Blank lines (and lines whose
cells are all empty) are skipped. At most :data:`MAX_ROSTER_ROWS` data rows,
:data:`MAX_ROSTER_BYTES` bytes and :data:`MAX_ROSTER_COLUMNS` header columns (not counting empty ones
at the end); every check is linear in the size of the file.

Row numbers: ``row`` is the 1-based data row number counted in lines of the file, so line 2 of the
file (the first line after the header) is row 1, and row N is always line N + 1 (blank lines are
skipped but still counted; a record whose quoted field spans lines is numbered by its first line).

A problem with the file as a whole (not UTF-8, no header, a missing, unknown or repeated header
column, broken CSV quoting) raises :class:`~classroom.errors.ValidationError`; too many rows or
bytes raise :class:`RosterTooLarge`. A problem with one row is a :class:`RowError`; the row is
skipped and the others go on. A code appearing twice in one file: the second row is an error.

:func:`plan_roster` then checks the parsed rows against what the directory holds and decides,
without doing it, what the import changes.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Set
from dataclasses import dataclass
from typing import Any

from classroom.errors import ValidationError
from classroom.people import (
    Classroom,
    Course,
    Enrolment,
    FieldError,
    Student,
    normalise_code,
    validate_id,
    validate_name,
)

__all__ = [
    "COLUMNS",
    "MAX_ROSTER_BYTES",
    "MAX_ROSTER_COLUMNS",
    "MAX_ROSTER_ROWS",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "Roster",
    "RosterContext",
    "RosterPlan",
    "RosterRow",
    "RosterTooLarge",
    "RowError",
    "parse_roster",
    "plan_roster",
    "repeated",
]

MAX_ROSTER_ROWS = 5000
MAX_ROSTER_BYTES = 1024 * 1024
MAX_ROSTER_COLUMNS = 64
REQUIRED_COLUMNS = ("code", "name", "classroom")
OPTIONAL_COLUMNS = ("course",)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
_SHOWN_CODE_CHARS = 64


class RosterTooLarge(ValidationError):
    """The file has more than MAX_ROSTER_ROWS data rows or MAX_ROSTER_BYTES bytes."""


@dataclass(frozen=True)
class RowError:
    """Why one data row was skipped. ``row`` 1 is line 2 of the file; ``code`` is as written (cut to 64)."""

    row: int
    code: str
    field: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "code": self.code, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class RosterRow:
    """One valid data row: the code normalised, the other cells stripped."""

    row: int
    code: str
    name: str
    classroom: str
    course: str | None


@dataclass(frozen=True)
class Roster:
    """A parsed file: the valid rows and the errors of the others, both in row order."""

    rows: tuple[RosterRow, ...]
    errors: tuple[RowError, ...]


@dataclass(frozen=True)
class RosterContext:
    """What the directory holds about the rows' codes, classrooms and courses."""

    students: Mapping[str, Student]
    classrooms: Mapping[str, Classroom]
    courses: Mapping[str, Course]
    enrolments: Set[tuple[str, str]]
    """(course, student) pairs already enrolled"""


@dataclass(frozen=True)
class RosterPlan:
    """The changes an import makes; ``errors`` lists every skipped row (parse and directory)."""

    created: tuple[Student, ...]
    updated: tuple[Student, ...]
    enrolments: tuple[Enrolment, ...]
    errors: tuple[RowError, ...]


def _decode(data: bytes) -> str:
    if len(data) > MAX_ROSTER_BYTES:
        raise RosterTooLarge(f"roster exceeds {MAX_ROSTER_BYTES} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"roster must be UTF-8 text (byte {exc.start} is not)") from None


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line number of the record's first line, cells) of every non-blank record."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    previous = 0
    try:
        for cells in reader:
            start, previous = previous + 1, reader.line_num
            if any(cell.strip() for cell in cells):
                yield start, cells
    except csv.Error as exc:
        raise ValidationError(f"roster is not valid CSV at line {reader.line_num}: {exc}") from None


def _trimmed(cells: list[str]) -> list[str]:
    """Cells without the empty ones at the end (spreadsheets export trailing commas)."""
    stripped = [cell.strip() for cell in cells]
    while stripped and not stripped[-1]:
        stripped.pop()
    return stripped


def repeated(names: Iterable[str]) -> list[str]:
    """The names that occur more than once, sorted; one pass (no pairwise comparison)."""
    return sorted(name for name, count in Counter(names).items() if count > 1)


def _header(cells: list[str]) -> tuple[str, ...]:
    names = tuple(cell.lower() for cell in _trimmed(cells))
    if len(names) > MAX_ROSTER_COLUMNS:
        raise ValidationError(f"roster header has {len(names)} columns; at most {MAX_ROSTER_COLUMNS} are allowed")
    problems = []
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    unknown = sorted({name for name in names if name not in COLUMNS})
    twice = repeated(names)
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column(s): {', '.join(repr(name[:40]) for name in unknown[:10])}")
    if twice:
        problems.append(f"repeated column(s): {', '.join(repr(name[:40]) for name in twice[:10])}")
    if problems:
        raise ValidationError(f"roster header must be {','.join(REQUIRED_COLUMNS)}[,course]: {'; '.join(problems)}")
    return names


def _cells(header: tuple[str, ...], cells: list[str]) -> dict[str, str]:
    trimmed = _trimmed(cells)
    return dict(zip(header, trimmed + [""] * (len(header) - len(trimmed)), strict=False))


def _check_row(row: int, header: tuple[str, ...], cells: list[str]) -> RosterRow | list[RowError]:
    values = _cells(header, cells)
    raw_code = values["code"][:_SHOWN_CODE_CHARS]
    if len(_trimmed(cells)) > len(header):
        return [RowError(row, raw_code, "row", f"has {len(_trimmed(cells))} cells, the header has {len(header)}")]
    checks = {
        "code": lambda: normalise_code(values["code"]),
        "name": lambda: validate_name("name", values["name"]),
        "classroom": lambda: validate_id("classroom", values["classroom"]),
        "course": lambda: validate_id("course", values["course"]) if values.get("course") else None,
    }
    good: dict[str, str | None] = {}
    errors: list[RowError] = []
    for field, check in checks.items():
        try:
            good[field] = check()
        except FieldError as exc:
            errors.append(RowError(row, raw_code, field, exc.message))
    if errors:
        return errors
    return RosterRow(row, str(good["code"]), str(good["name"]), str(good["classroom"]), good["course"])


def _code_key(raw: str) -> str | None:
    try:
        return normalise_code(raw)
    except FieldError:
        return None


def _check_rows(header: tuple[str, ...], records: Iterator[tuple[int, list[str]]]) -> Roster:
    rows: list[RosterRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for count, (line, cells) in enumerate(records, start=1):
        if count > MAX_ROSTER_ROWS:
            raise RosterTooLarge(f"roster has more than {MAX_ROSTER_ROWS} rows")
        raw_code = _cells(header, cells)["code"]
        key = _code_key(raw_code)
        if key is not None and key in seen:
            errors.append(RowError(line - 1, raw_code[:_SHOWN_CODE_CHARS], "code", f"code repeats row {seen[key]}"))
            continue
        if key is not None:
            seen[key] = line - 1
        checked = _check_row(line - 1, header, cells)
        if isinstance(checked, RosterRow):
            rows.append(checked)
        else:
            errors.extend(checked)
    return Roster(tuple(rows), tuple(errors))


def parse_roster(data: bytes) -> Roster:
    """Parse and check a roster file row by row; raises ValidationError for the file as a whole."""
    records = _records(_decode(data))
    first = next(records, None)
    if first is None:
        raise ValidationError(f"roster is empty: the header line {','.join(REQUIRED_COLUMNS)} is required")
    return _check_rows(_header(first[1]), records)


def _row_problem(school: str, row: RosterRow, context: RosterContext) -> RowError | None:
    known = context.students.get(row.code)
    classroom = context.classrooms.get(row.classroom)
    if known is not None and known.school != school:
        return RowError(row.row, row.code, "code", "code belongs to a student of another school")
    if classroom is None:
        return RowError(row.row, row.code, "classroom", f"classroom {row.classroom!r} does not exist")
    if classroom.school != school:
        return RowError(row.row, row.code, "classroom", f"classroom {row.classroom!r} is not a classroom of {school}")
    if row.course is not None and row.course not in context.courses:
        return RowError(row.row, row.code, "course", f"course {row.course!r} does not exist")
    return None


def plan_roster(school: str, roster: Roster, context: RosterContext) -> RosterPlan:
    """What importing ``roster`` into ``school`` changes: new students, changed ones, new enrolments.

    Existing students of ``school`` whose name and classroom are unchanged count as neither created
    nor updated; an enrolment that already exists is not counted again.
    """
    created: list[Student] = []
    updated: list[Student] = []
    enrolments: list[Enrolment] = []
    errors = list(roster.errors)
    for row in roster.rows:
        problem = _row_problem(school, row, context)
        if problem is not None:
            errors.append(problem)
            continue
        student = Student(row.code, row.name, school, row.classroom)
        known = context.students.get(row.code)
        if known is None:
            created.append(student)
        elif known != student:
            updated.append(student)
        if row.course is not None and (row.course, row.code) not in context.enrolments:
            enrolments.append(Enrolment(row.course, row.code))
    errors.sort(key=lambda error: error.row)
    return RosterPlan(tuple(created), tuple(updated), tuple(enrolments), tuple(errors))
