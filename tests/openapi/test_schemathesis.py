"""Schemathesis over /api/openapi.json against a real server, on SQLite and on PostgreSQL.

Every operation gets examples, coverage cases and bounded fuzzing (a fixed seed, derandomised):
no response is a 500, and every response has a documented status, content type and body schema.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
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


@schemathesis.serializer("application/sdp", "text/csv")  # type: ignore[arg-type]  # the requests-style dict form
def _text(ctx: Any, value: Any) -> dict[str, bytes]:
    """SDP offers and CSV rosters are text bodies."""
    return {"data": value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")}


def _config(server: LiveServer) -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "base-url": server.url,
        "headers": {"Authorization": f"Bearer {server.admin}"},
        "request-timeout": 30,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "with-security-parameters": False},
        "phases": {"stateful": {"enabled": False}},
    })


@pytest.fixture
def api_schema(live_server: LiveServer) -> Any:
    seed(live_server)
    return schemathesis.openapi.from_url(f"{live_server.url}/api/openapi.json", config=_config(live_server))


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.timeout(900)
@schema.parametrize()
def test_api_answers_every_request_as_documented_and_never_500(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)
