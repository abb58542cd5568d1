"""xAPI export: statements valid against xAPI 1.0.3, attended and completed, stable ids."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from classroom.xapi import ATTENDED, COMPLETED, iso_duration
from tests.support.programme import (  # noqa: F401  (fixtures)
    EAST_STUDENT,
    WEST_2_STUDENTS,
    WEST_STUDENTS,
    Programme,
    clock,
    programme,
)

SCHEMA = json.loads((Path(__file__).parent / "xapi_statement.schema.json").read_text())
A, B, C = WEST_STUDENTS


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "PT0S"), (59.5, "PT59.50S"), (60, "PT1M"), (3600, "PT1H"), (3723.456, "PT1H2M3.46S"), (-1, "PT0S")],
)
def test_durations_are_iso_8601_with_centiseconds(seconds: float, text: str) -> None:
    assert iso_duration(seconds) == text


async def test_a_lessons_statements_are_valid_xapi_and_stable(programme: Programme) -> None:  # noqa: F811
    p = programme
    lesson = await p.start_lesson()
    session = p.connect(lesson)
    await p.tick(lesson, checked_in=(A, B))
    p.wait(1800)
    await p.tick(lesson, checked_out=(B,))
    p.wait(1800)
    p.disconnect(session)
    await p.end_lesson(lesson)
    url = f"/api/lessons/{lesson}/attendance/xapi"
    response = await p.client.get(url, headers=p.admin("east"))
    assert response.status_code == 200 and response.headers["x-experience-api-version"] == "1.0.3"
    statements = response.json()
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for statement in statements:
        errors = sorted(validator.iter_errors(statement), key=str)
        assert not errors, [e.message for e in errors]
    verbs = [(s["actor"]["account"]["name"], s["verb"]["id"]) for s in statements]
    assert verbs == [(A, ATTENDED), (A, COMPLETED), (B, ATTENDED)]  # absent students have no statements
    assert statements[0]["result"]["duration"] == "PT1H" and statements[2]["result"]["completion"] is False
    again = (await p.client.get(url, headers=p.admin("east"))).json()
    assert [s["id"] for s in again] == [s["id"] for s in statements]
    assert len({s["id"] for s in statements}) == len(statements)


def test_the_schema_refuses_what_xapi_refuses() -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    good = {"actor": {"account": {"homePage": "http://x.example", "name": "A"}},
            "verb": {"id": ATTENDED, "display": {"en": "attended"}}, "object": {"id": "http://x.example/l/1"}}
    assert validator.is_valid(good)
    for bad in ({**good, "verb": {"id": "attended"}}, {**good, "stored": "2026-01-01T00:00:00Z"},
                {**good, "result": {"duration": "1 hour"}}, {**good, "verb": {"id": ATTENDED, "display": {"": "x"}}},
                {k: v for k, v in good.items() if k != "actor"}):
        assert not validator.is_valid(bad)
