"""Levels by recognised credits, credit amounts, and recognition rules (pure)."""

from __future__ import annotations

import pytest

from classroom.errors import ValidationError
from classroom.levels import DEFAULT_THRESHOLDS, Level, Thresholds, format_credits, parse_credits
from classroom.recognition import new_rule, recognised_amount


@pytest.mark.parametrize(
    ("recognised", "level"),
    [(0, Level.TIN), (999, Level.TIN), (1000, Level.IRON), (2999, Level.IRON), (3000, Level.BRONZE),
     (6000, Level.SILVER), (9999, Level.SILVER), (10000, Level.GOLD), (10**7, Level.GOLD), (-100, Level.TIN)],
)
def test_the_level_is_the_highest_threshold_reached(recognised: int, level: Level) -> None:
    assert DEFAULT_THRESHOLDS.level_for(recognised) is level


def test_thresholds_parse_from_configuration() -> None:
    thresholds = Thresholds.parse("iron=1, bronze=2.5, silver=4, gold=8")
    assert thresholds == Thresholds(iron=100, bronze=250, silver=400, gold=800)
    assert Thresholds.parse(thresholds.to_text()) == thresholds


@pytest.mark.parametrize(
    "text",
    ["iron=1,bronze=2,silver=3", "iron=2,bronze=1,silver=3,gold=4", "iron=0,bronze=1,silver=2,gold=3",
     "copper=1,iron=1,bronze=2,silver=3,gold=4", "iron=x,bronze=2,silver=3,gold=4",
     "iron=1.234,bronze=2,silver=3,gold=4"],
    ids=["missing-gold", "not-rising", "zero", "unknown-level", "not-a-number", "three-decimals"],
)
def test_bad_thresholds_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Thresholds.parse(text)


@pytest.mark.parametrize(("value", "centi"), [(1, 100), ("0.5", 50), (2.25, 225), ("10", 1000)])
def test_credit_amounts_are_centi_credits(value: object, centi: int) -> None:
    assert parse_credits(value) == centi


@pytest.mark.parametrize("value", [True, None, "abc", "1.001", [1]])
def test_bad_credit_amounts_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        parse_credits(value)


@pytest.mark.parametrize(("centi", "text"), [(0, "0.00"), (150, "1.50"), (-150, "-1.50"), (5, "0.05")])
def test_credits_are_shown_with_two_decimals(centi: int, text: str) -> None:
    assert format_credits(centi) == text


def test_a_rule_maps_a_course_and_scales_its_credits() -> None:
    rule = new_rule("west-1", {"lesson_school": "east", "course": "mould-101", "home_course": "M1",
                               "factor_pct": 50})
    assert (rule.home_school, rule.home_course) == ("west-1", "M1")
    assert recognised_amount(150, rule) == 75
    assert recognised_amount(101, rule) == 51  # half up


@pytest.mark.parametrize(
    "body",
    [{"course": "c", "home_course": "h"}, {"lesson_school": "east", "home_course": "h"},
     {"lesson_school": "east", "course": "c", "home_course": "h", "factor_pct": 0},
     {"lesson_school": "east", "course": "c", "home_course": "h", "factor_pct": 201},
     {"lesson_school": "east", "course": "c", "home_course": "h", "factor_pct": 1.5},
     {"lesson_school": "west-1", "course": "c", "home_course": "h"},
     {"lesson_school": "east", "course": "c", "home_course": "h", "extra": 1}],
    ids=["no-school", "no-course", "zero-factor", "factor-too-big", "fractional-factor", "own-school", "unknown-field"],
)
def test_bad_rules_are_refused(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        new_rule("west-1", body)
