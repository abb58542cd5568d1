"""The people of the directory: codes, ids, names and credits are validated and normalised."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from classroom.people import (
    Course,
    FieldError,
    format_credits,
    new_classroom,
    new_course,
    new_school,
    new_student,
    normalise_code,
    parse_credits,
)


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("ABC123", "ABC123"),
        ("ab-123456", "AB-123456"),
        ("  yn-2024-0001  ", "YN-2024-0001"),
        ("A" * 32, "A" * 32),
        ("------", "------"),
    ],
)
def test_good_codes_are_normalised_to_upper_case(raw: str, expected: str) -> None:
    assert normalise_code(raw) == expected


@pytest.mark.parametrize(
    "raw,problem",
    [
        ("ABC12", "6-32"),
        ("A" * 33, "6-32"),
        ("AB 1234", "6-32"),
        ("AB_1234", "6-32"),
        ("技工码123456", "6-32"),
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        (None, "is required"),
        (123456, "must be a string"),
    ],
)
def test_bad_codes_are_refused_naming_the_field(raw: object, problem: str) -> None:
    with pytest.raises(FieldError) as caught:
        normalise_code(raw)
    assert caught.value.field == "code"
    assert caught.value.message.startswith("code ") and problem in caught.value.message


@pytest.mark.parametrize(
    "raw,centi",
    [("1", 100), ("1.5", 150), ("0.01", 1), ("20", 2000), ("20.00", 2000), (" 2.25 ", 225), (3, 300), (0.5, 50),
     (1.25, 125), ("1.500", 150)],
)
def test_credits_are_stored_exactly_as_centi_credits(raw: object, centi: int) -> None:
    assert parse_credits(raw) == centi


@pytest.mark.parametrize(
    "raw",
    ["0", "0.00", "20.01", "21", "-1", "1.005", "1e1", "abc", "", "1,5", None, True, [], float("nan"),
     float("inf"), 0.1 + 0.2, -0.5],
)
def test_bad_credits_are_refused_naming_the_field(raw: object) -> None:
    with pytest.raises(FieldError) as caught:
        parse_credits(raw)
    assert caught.value.field == "credits" and caught.value.message.startswith("credits ")


@pytest.mark.parametrize("centi,text", [(150, "1.50"), (1, "0.01"), (2000, "20.00"), (105, "1.05")])
def test_credits_are_shown_as_exact_decimal_strings(centi: int, text: str) -> None:
    assert format_credits(centi) == text


def test_a_course_reports_credits_as_a_string_and_as_centi() -> None:
    course = new_course("mould-101", "east", " Mould design ", "1.5")
    assert course == Course("mould-101", "east", "Mould design", 150)
    assert course.to_json() == {"id": "mould-101", "school": "east", "title": "Mould design", "credits": "1.50",
                                "credits_centi": 150}


def test_chinese_names_are_kept() -> None:
    student = new_student("yn-0001-22", " 李小龙 ", "nujiang", "nujiang-1")
    assert student.to_json() == {"code": "YN-0001-22", "name": "李小龙", "school": "nujiang", "classroom": "nujiang-1"}


def test_a_school_region_is_optional() -> None:
    assert new_school("nujiang", "怒江职业技术学校").region is None
    assert new_school("nujiang", "Nujiang", "云南").to_json() == {"id": "nujiang", "name": "Nujiang", "region": "云南"}


@pytest.mark.parametrize(
    "make,field",
    [
        (lambda: new_school("", "East"), "id"),
        (lambda: new_school("east school", "East"), "id"),
        (lambda: new_school("-east", "East"), "id"),
        (lambda: new_school("x" * 65, "East"), "id"),
        (lambda: new_school("east", "  "), "name"),
        (lambda: new_school("east", None), "name"),
        (lambda: new_school("east", "x" * 101), "name"),
        (lambda: new_school("east", "East\x00"), "name"),
        (lambda: new_school("east", "East", 7), "region"),
        (lambda: new_classroom("room/1", "east", "Room 1"), "id"),
        (lambda: new_classroom("room-1", "east", "Room\n1"), "name"),
        (lambda: new_student("AB-123456", "", "east", "room-1"), "name"),
        (lambda: new_student("AB-123456", "Li", "east", None), "classroom"),
        (lambda: new_student("AB-12", "Li", "east", "room-1"), "code"),
        (lambda: new_course("c1", "east", "", "1"), "title"),
        (lambda: new_course("c1", "east", "t" * 201, "1"), "title"),
        (lambda: new_course("c 1", "east", "Title", "1"), "id"),
        (lambda: new_course("c1", "east", "Title", "0"), "credits"),
    ],
)
def test_bad_fields_are_refused_with_the_field_named(make: Callable[[], object], field: str) -> None:
    with pytest.raises(FieldError) as caught:
        make()
    assert caught.value.field == field and caught.value.message.startswith(f"{field} ")
