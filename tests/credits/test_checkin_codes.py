"""Self check-in codes: rotating, bound to lesson and classroom, forged and expired codes refused."""

from __future__ import annotations

import pytest

from classroom.checkin_codes import CheckinCodes, CodeExpired, CodeWrong

SECRET = b"s" * 32
T0 = 1_800_000_000.0  # a multiple of 30


@pytest.fixture
def codes() -> CheckinCodes:
    return CheckinCodes(SECRET, step_s=30)


def test_a_code_is_six_digits_and_valid_until_the_end_of_the_next_step(codes: CheckinCodes) -> None:
    code = codes.current("L1", "room-1", T0 + 5)
    assert len(code.code) == 6 and code.code.isdigit()
    assert code.valid_until == T0 + 60


@pytest.mark.parametrize("elapsed", [0, 29.9, 30, 59.9], ids=["at-once", "same-step", "next-step", "last-moment"])
def test_a_shown_code_is_accepted_for_about_a_minute(codes: CheckinCodes, elapsed: float) -> None:
    shown = codes.current("L1", "room-1", T0)
    assert codes.check("L1", "room-1", shown.code, T0 + elapsed) == shown.step


@pytest.mark.parametrize("elapsed", [60, 120, 300])
def test_an_old_code_is_expired(codes: CheckinCodes, elapsed: float) -> None:
    shown = codes.current("L1", "room-1", T0)
    with pytest.raises(CodeExpired):
        codes.check("L1", "room-1", shown.code, T0 + elapsed)


@pytest.mark.parametrize(
    ("lesson", "classroom"), [("L2", "room-1"), ("L1", "room-2")], ids=["other-lesson", "other-classroom"])
def test_a_code_is_bound_to_its_lesson_and_classroom(codes: CheckinCodes, lesson: str, classroom: str) -> None:
    shown = codes.current("L1", "room-1", T0)
    with pytest.raises(CodeWrong):
        codes.check(lesson, classroom, shown.code, T0 + 1)


@pytest.mark.parametrize("forged", ["", "12345", "1234567", "abcdef", "12 456", "１２３４５６"])
def test_malformed_codes_are_wrong(codes: CheckinCodes, forged: str) -> None:
    with pytest.raises(CodeWrong):
        codes.check("L1", "room-1", forged, T0)


def test_another_servers_secret_gives_other_codes(codes: CheckinCodes) -> None:
    other = CheckinCodes(b"t" * 32, step_s=30)
    shown = other.current("L1", "room-1", T0)
    mine = codes.current("L1", "room-1", T0)
    if shown.code != mine.code:  # a 1-in-a-million collision is not a forgery
        with pytest.raises(CodeWrong):
            codes.check("L1", "room-1", shown.code, T0)


def test_codes_rotate(codes: CheckinCodes) -> None:
    seen = {codes.current("L1", "room-1", T0 + 30 * step).code for step in range(20)}
    assert len(seen) >= 19


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        CheckinCodes(b"short")
