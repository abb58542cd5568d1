"""Every route that reads a JSON body refuses what the strict reader refuses with a 400, never a 500.

The routes are listed here and checked against the source: a new route that reads a JSON body must
be added to ``JSON_ROUTES`` (the completeness test fails otherwise).
"""

from __future__ import annotations

import inspect

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from tests.support.tokens import Tokens

JSON_ROUTES = [
    ("POST", "/api/lessons"),
    ("POST", "/api/lessons/L1/presence"),
    ("POST", "/api/lessons/L1/checkin"),
    ("POST", "/api/lessons/L1/rollcalls/R1/answers"),
    ("POST", "/api/lessons/L1/attendance/overrides"),
    ("POST", "/api/lessons/L1/attendance/excuses"),
    ("POST", "/api/recordings/R1/chapters"),
    ("POST", "/api/ledger/entries/1/reversal"),
    ("POST", "/api/recognitions/1/post"),
    ("POST", "/api/recognition-rules"),
    ("PUT", "/api/schools/east"),
    ("POST", "/api/classrooms"),
    ("POST", "/api/students"),
    ("PATCH", "/api/students/EA-0001"),
    ("POST", "/api/courses"),
    ("POST", "/api/courses/C1/enrolments"),
]

BAD_BODIES = {
    "5000-digit-integer": (b"1" * 5000, "integer"),
    "big-integer-in-a-field": (b'{"title": ' + b"9" * 4000 + b"}", "integer"),
    "integer-past-64-bits": (b'{"title": 9223372036854775808}', "integer"),
    "lone-surrogate": (b'{"title": "a\\ud800b"}', "surrogate"),
    "lone-surrogate-in-a-key": (b'{"\\udfff": 1}', "surrogate"),
    "nul": (b'{"title": "a\\u0000b"}', "control"),
    "escape-sequence": (b'{"name": "\\u001b[31mred"}', "control"),
    "c1-control": (b'{"reason": "a\\u0085b"}', "control"),
    "nan": (b'{"credits": NaN}', "JSON"),
    "minus-infinity": (b'{"credits": -Infinity}', "JSON"),
    "float-overflow": (b'{"credits": 1e999}', "float"),
    "deep-nesting": (b'{"a": ' + b"[" * 40 + b"]" * 40 + b"}", "nested"),
    "very-deep-nesting": (b"[" * 5000 + b"]" * 5000, "nested"),
}


def _reads_json(route: Route) -> bool:
    return "read_json_object(" in inspect.getsource(route.endpoint)


def test_the_route_list_names_every_route_that_reads_a_json_body(app: Starlette) -> None:
    reading = {(method, route.path) for route in app.routes if isinstance(route, Route) and _reads_json(route)
               for method in route.methods or () if method != "HEAD"}
    listed = set()
    for method, path in JSON_ROUTES:
        match = [route.path for route in app.routes if isinstance(route, Route) and route.methods
                 and method in route.methods and route.path_regex.match(path)]
        listed.add((method, match[0]))
    assert listed == reading


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES, ids=[f"{m} {p}" for m, p in JSON_ROUTES])
async def test_a_body_the_reader_refuses_is_a_400_that_names_the_problem(
    client: httpx.AsyncClient, tokens: Tokens, method: str, path: str
) -> None:
    headers = {**tokens.admin(), "Content-Type": "application/json", "Idempotency-Key": "k1"}
    for case, (raw, word) in BAD_BODIES.items():
        response = await client.request(method, path, content=raw, headers=headers)
        assert response.status_code == 400, (case, response.text)
        error = response.json()["error"]
        assert error["code"] == "bad_request", case
        assert word in error["message"], (case, error)
        assert error["message"].isprintable(), case
