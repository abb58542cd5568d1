"""Schemathesis over /api/openapi.json against a real server, on SQLite and on PostgreSQL.

Every operation gets examples, coverage cases and bounded fuzzing (a fixed seed, derandomised):
no response is a 500, and every response has a documented status, content type and body schema.

SDP offers (WHIP/WHEP) and CSV rosters go out as the generated text under their own Content-Type.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.openapi.conftest import LiveServer, seed

MAX_EXAMPLES = 20
SEED = 20261124
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


# The built-in text/plain serializer sends the generated string as the body. (A custom `schemathesis.serializer`
# returns the body's bytes: one returning a requests-style {"data": ...} dict had every body form-encoded as
# "data=v%3D0...", so no offer got past the v=0 check and no roster past its header.)
schemathesis.serializer.alias(["application/sdp", "text/csv"], "text/plain")


def _config(server: LiveServer) -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "base-url": server.url,
        "headers": {"Authorization": f"Bearer {server.admin}"},
        "request-timeout": 30,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "with-security-parameters": False},
        "phases": {"stateful": {"enabled": False}},
    })


def _load(server: LiveServer) -> Any:
    return schemathesis.openapi.from_url(f"{server.url}/api/openapi.json", config=_config(server))


@pytest.fixture
def api_schema(live_server: LiveServer) -> Any:
    seed(live_server)
    return _load(live_server)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.timeout(900)
@schema.parametrize()
def test_api_answers_every_request_as_documented_and_never_500(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)


TEXT_BODIES = [("POST", "/whip/{lesson_id}", "teacher"), ("POST", "/whep/{lesson_id}", "admin"),
               ("POST", "/api/roster", "admin")]


def _send_generated(operation: Any, token: str, lesson_id: str) -> list[tuple[int, str]]:
    """Send MAX_EXAMPLES generated bodies (the seeded lesson in the path); each goes out verbatim under the
    declared Content-Type. Returns (status, error message) per request."""
    media_type = operation.body[0].media_type
    answers: list[tuple[int, str]] = []

    @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(operation.as_strategy(path_parameters={"lesson_id": lesson_id} if "{lesson_id}" in operation.path
                                 else None))
    def send(case: schemathesis.Case) -> None:
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        assert response.request.headers["Content-Type"] == media_type
        assert isinstance(case.body, str)
        sent = response.request.body or b""  # requests sends an empty body as none
        assert sent == case.body.encode("utf-8"), (case.body, sent)
        assert response.status_code != 415, response.text
        answers.append((response.status_code, response.json()["error"]["message"]
                        if response.status_code >= 400 else ""))

    send()
    return answers


@pytest.mark.timeout(300)
def test_sdp_offers_and_csv_rosters_reach_the_server_as_the_generated_text(live_server: LiveServer) -> None:
    """Generated WHIP/WHEP offers and rosters reach the server as the generated text; offers for the seeded
    lesson get past the route's v=0 check to the SDP parser (400 "the SDP ...", not 415)."""
    lesson_id = seed(live_server)
    api = _load(live_server)
    answers = {path: _send_generated(api[path][method], getattr(live_server, who), lesson_id)
               for method, path, who in TEXT_BODIES}
    for path in ("/whip/{lesson_id}", "/whep/{lesson_id}"):
        parsed = [message for status, message in answers[path] if status == 400 and message.startswith("the SDP")]
        assert parsed, (path, answers[path])
    # a roster is parsed: the answers come from the importer (e.g. its header check naming the generated columns)
    assert all(status == 200 or message.startswith("roster") for status, message in answers["/api/roster"]), answers
