"""Roster CSV parsing and planning: pure, row by row, with row numbers counted in file lines."""

from __future__ import annotations

from collections.abc import Set

import pytest

from classroom.errors import ValidationError
from classroom.people import Classroom, Course, Enrolment, Student
from classroom.roster import (
    MAX_ROSTER_BYTES,
    MAX_ROSTER_COLUMNS,
    MAX_ROSTER_ROWS,
    RosterContext,
    RosterRow,
    RosterTooLarge,
    RowError,
    parse_roster,
    plan_roster,
    repeated,
)

HEADER = "code,name,classroom,course\n"


def parse(text: str) -> tuple[list[RosterRow], list[RowError]]:
    roster = parse_roster(text.encode())
    return list(roster.rows), list(roster.errors)


def test_good_rows_are_parsed_with_codes_normalised_and_cells_stripped() -> None:
    rows, errors = parse(HEADER + "yn-000001, 李四 ,room-1,mould-101\nYN-000002,Ana,room-2,\n")
    assert errors == []
    assert rows == [
        RosterRow(1, "YN-000001", "李四", "room-1", "mould-101"),
        RosterRow(2, "YN-000002", "Ana", "room-2", None),
    ]


def test_course_column_is_optional_and_columns_may_come_in_any_order_and_case() -> None:
    rows, errors = parse("Classroom,CODE,Name\nroom-1,YN-000001,Li\n")
    assert errors == [] and rows == [RosterRow(1, "YN-000001", "Li", "room-1", None)]


def test_a_byte_order_mark_at_the_start_is_ignored() -> None:
    roster = parse_roster(b"\xef\xbb\xbf" + HEADER.encode() + "YN-000001,王五,room-1,\n".encode())
    assert [row.code for row in roster.rows] == ["YN-000001"] and roster.errors == ()


def test_blank_lines_are_skipped_but_counted_in_row_numbers() -> None:
    rows, errors = parse(HEADER + "\nYN-000001,Li,room-1,\n   \n,,,\nbad,Li,room-1,\n")
    assert [row.row for row in rows] == [2]
    assert [(error.row, error.field) for error in errors] == [(5, "code")]


def test_empty_cells_at_the_end_of_lines_are_ignored() -> None:
    rows, errors = parse("code,name,classroom,,\nYN-000001,Li,room-1,,\n")
    assert errors == [] and rows == [RosterRow(1, "YN-000001", "Li", "room-1", None)]


def test_windows_line_endings_and_quoted_cells_are_read() -> None:
    rows, errors = parse('code,name,classroom\r\nYN-000001,"Li, Xiao ""Tiger""",room-1\r\n')
    assert errors == [] and rows[0].name == 'Li, Xiao "Tiger"'


@pytest.mark.parametrize(
    "line,field,message",
    [
        (",Li,room-1,", "code", "code must not be empty"),
        ("AB,Li,room-1,", "code", "code must be 6-32"),
        ("AB 123456,Li,room-1,", "code", "code must be 6-32"),
        ("YN-000001,,room-1,", "name", "name must not be empty"),
        ("YN-000001," + "x" * 101 + ",room-1,", "name", "at most 100"),
        ("YN-000001,Li,,", "classroom", "classroom must not be empty"),
        ("YN-000001,Li,room 1,", "classroom", "classroom must be"),
        ("YN-000001,Li,room-1,bad course", "course", "course must be"),
        ("YN-000001,Li,room-1,c1,extra", "row", "has 5 cells"),
        ("YN-000001,Li", "classroom", "classroom must not be empty"),
    ],
)
def test_a_bad_row_is_reported_with_its_row_number_and_field_and_skipped(line: str, field: str, message: str) -> None:
    rows, errors = parse(HEADER + "YN-999999,Good,room-1,\n" + line + "\n")
    assert [row.code for row in rows] == ["YN-999999"]
    assert len(errors) == 1
    assert errors[0].row == 2 and errors[0].field == field and message in errors[0].message


def test_every_bad_field_of_a_row_is_reported() -> None:
    _, errors = parse(HEADER + "bad,,room 1,\n")
    assert [(error.row, error.code, error.field) for error in errors] == [
        (1, "bad", "code"), (1, "bad", "name"), (1, "bad", "classroom")]


def test_a_code_repeated_in_one_file_is_an_error_on_the_second_row() -> None:
    rows, errors = parse(HEADER + "YN-000001,Li,room-1,\nYN-000002,Wang,room-1,\nyn-000001,Li again,room-2,\n")
    assert [row.code for row in rows] == ["YN-000001", "YN-000002"]
    assert errors == [RowError(3, "yn-000001", "code", "code repeats row 1")]


def test_a_repeat_of_a_skipped_row_is_still_an_error() -> None:
    rows, errors = parse(HEADER + "YN-000001,,room-1,\nYN-000001,Li,room-1,\n")
    assert rows == [] and [(error.row, error.field) for error in errors] == [(1, "name"), (2, "code")]


@pytest.mark.parametrize(
    "header,words",
    [
        ("code,name\n", ["missing", "classroom"]),
        ("code,name,classroom,grade\n", ["unknown", "grade"]),
        ("code,name,classroom,code\n", ["repeated", "code"]),
        ("name,classroom,student\n", ["missing", "code", "unknown", "student"]),
        ("YN-000001,Li,room-1\n", ["missing", "unknown"]),
    ],
)
def test_a_bad_header_is_one_error_for_the_whole_file(header: str, words: list[str]) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_roster((header + "YN-000002,Wang,room-1\n").encode())
    assert not isinstance(caught.value, RosterTooLarge)
    assert all(word in caught.value.message for word in words), caught.value.message


@pytest.mark.parametrize(
    "data,words",
    [(b"", "empty"), (b"\n\n", "empty"), (b"code,name,classroom\n\xff\xfe,Li,r\n", "UTF-8"),
     (b'code,name,classroom\n"YN-000001,Li,r\n', "CSV")],
)
def test_an_unreadable_file_is_one_error(data: bytes, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_roster(data)
    assert words in caught.value.message


def test_a_header_only_file_has_no_rows() -> None:
    assert parse(HEADER) == ([], [])


def test_too_many_rows_is_refused_as_too_large() -> None:
    body = "".join(f"YN-{index:06d},S,r\n" for index in range(MAX_ROSTER_ROWS + 1))
    with pytest.raises(RosterTooLarge):
        parse_roster(("code,name,classroom\n" + body).encode())
    rows, _ = parse("code,name,classroom\n" + "".join(f"YN-{i:06d},S,r\n" for i in range(MAX_ROSTER_ROWS)))
    assert len(rows) == MAX_ROSTER_ROWS


def test_too_many_bytes_is_refused_as_too_large() -> None:
    with pytest.raises(RosterTooLarge):
        parse_roster(b"code,name,classroom\n" + b"x" * MAX_ROSTER_BYTES)


ROOMS = {"room-1": Classroom("room-1", "west", "Room 1"), "far-1": Classroom("far-1", "far", "Far 1")}
COURSES = {"c1": Course("c1", "east", "Mould", 150)}


def context(students: dict[str, Student], enrolments: Set[tuple[str, str]] = frozenset()) -> RosterContext:
    return RosterContext(students=students, classrooms=ROOMS, courses=COURSES, enrolments=enrolments)


def test_the_plan_creates_new_students_updates_changed_ones_and_enrols() -> None:
    roster = parse_roster((HEADER + "YN-000001,Li,room-1,c1\nYN-000002,Wang new,room-1,c1\nYN-000003,Ma,room-1,\n")
                          .encode())
    known = {"YN-000002": Student("YN-000002", "Wang", "west", "room-1"),
             "YN-000003": Student("YN-000003", "Ma", "west", "room-1")}
    plan = plan_roster("west", roster, context(known, {("c1", "YN-000002")}))
    assert plan.created == (Student("YN-000001", "Li", "west", "room-1"),)
    assert plan.updated == (Student("YN-000002", "Wang new", "west", "room-1"),)
    assert plan.enrolments == (Enrolment("c1", "YN-000001"),)
    assert plan.errors == ()


@pytest.mark.parametrize(
    "line,field,message",
    [
        ("YN-000009,Li,room-1,", "code", "another school"),
        ("YN-000001,Li,room-9,", "classroom", "does not exist"),
        ("YN-000001,Li,far-1,", "classroom", "not a classroom of west"),
        ("YN-000001,Li,room-1,c9", "course", "does not exist"),
    ],
)
def test_rows_that_clash_with_the_directory_are_errors(line: str, field: str, message: str) -> None:
    roster = parse_roster((HEADER + "bad,Li,room-1,\n" + line + "\n").encode())
    plan = plan_roster("west", roster, context({"YN-000009": Student("YN-000009", "Li", "far", "far-1")}))
    assert plan.created == () and plan.updated == () and plan.enrolments == ()
    assert [(error.row, error.field) for error in plan.errors] == [(1, "code"), (2, field)]
    assert message in plan.errors[1].message


def test_a_header_of_more_than_64_columns_is_refused_naming_the_limit() -> None:
    header = "code,name,classroom," + ",".join(f"extra{index}" for index in range(20_000))
    with pytest.raises(ValidationError) as caught:
        parse_roster((header + "\nYN-000002,Wang,room-1\n").encode())
    assert f"at most {MAX_ROSTER_COLUMNS}" in caught.value.message
    assert "20003 columns" in caught.value.message


def test_empty_columns_at_the_end_of_the_header_do_not_count_against_the_limit() -> None:
    rows, errors = parse(HEADER.rstrip("\n") + "," * 500 + "\nYN-000001,Li,room-1\n")
    assert [row.code for row in rows] == ["YN-000001"] and errors == []


class CountingName(str):
    """A name that counts how often it is hashed and compared."""

    calls = {"hash": 0, "eq": 0}

    def __hash__(self) -> int:
        CountingName.calls["hash"] += 1
        return super().__hash__()

    def __eq__(self, other: object) -> bool:
        CountingName.calls["eq"] += 1
        return super().__eq__(other)


def test_the_repeated_column_check_is_linear_in_the_number_of_columns() -> None:
    CountingName.calls.update(hash=0, eq=0)
    names = [CountingName(f"column{index}") for index in range(10_000)] + [CountingName("column7")]
    assert repeated(names) == ["column7"]
    assert CountingName.calls["hash"] <= 2 * len(names)
    assert CountingName.calls["eq"] <= 2 * len(names)  # a pairwise check makes ~len(names) ** 2 / 2
