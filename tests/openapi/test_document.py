"""The OpenAPI document: served, valid OpenAPI 3.1, and in step with the app's routes."""

from __future__ import annotations

from typing import Any

import httpx
from openapi_spec_validator import validate
from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute

from server.edge.app import ROUTE_LISTS
from server.edge.openapi.document import build_document, openapi_path

_IGNORED_METHODS = {"HEAD"}  # Starlette answers HEAD for every GET by itself
_VERBS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _served() -> set[tuple[str, str]]:
    pairs = set()
    for route_list in ROUTE_LISTS:
        for route in route_list:
            if isinstance(route, WebSocketRoute):
                continue
            assert isinstance(route, Route), f"unexpected route type {route!r}"
            pairs |= {(method, openapi_path(route.path)) for method in route.methods or () if method not in
                      _IGNORED_METHODS}
    return pairs


def _documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item if method in _VERBS}


def test_every_route_is_documented_and_every_documented_operation_is_served() -> None:
    served, documented = _served(), _documented(build_document())
    assert served - documented == set(), "routes without an OpenAPI operation (add them to server/edge/openapi)"
    assert documented - served == set(), "documented operations that no route serves"


def test_document_is_valid_openapi_3_1() -> None:
    document = build_document()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_error_response_uses_the_error_shape() -> None:
    for path, item in build_document()["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400 and status not in ("405", "416"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_authenticated_operations_document_bearer_jwt_and_401() -> None:
    document = build_document()
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": document["components"]["securitySchemes"]["bearer"]["description"]}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if operation["security"]:
                assert "401" in operation["responses"], (method, path)


async def test_document_is_served_at_api_openapi_json(client: httpx.AsyncClient, app: Starlette) -> None:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == build_document()
