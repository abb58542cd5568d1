"""Edge helpers: bearer token extraction, guards, and the single error mapping."""

from __future__ import annotations

import pytest

from classroom.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from server.edge.auth import bearer_token, require
from server.edge.errors import (
    ApiError,
    Forbidden,
    PayloadTooLarge,
    Unauthorized,
    error_response,
    to_api_error,
    websocket_close,
)


def test_bearer_token_comes_from_the_authorization_header_first() -> None:
    assert bearer_token({"authorization": "Bearer abc"}, {"access_token": "q"}) == "abc"
    assert bearer_token({"authorization": "bearer  abc "}, {}) == "abc"


def test_bearer_token_falls_back_to_the_access_token_query_parameter() -> None:
    assert bearer_token({}, {"access_token": "q"}) == "q"
    assert bearer_token({"authorization": "Basic dXNlcg=="}, {"access_token": "q"}) == "q"


def test_no_bearer_token_is_none() -> None:
    assert bearer_token({}, {}) is None
    assert bearer_token({"authorization": "Bearer "}, {"access_token": ""}) is None


def test_require_raises_forbidden_with_the_message() -> None:
    require(True, "fine")
    with pytest.raises(Forbidden, match="teachers only"):
        require(False, "teachers only")


@pytest.mark.parametrize(
    "error,status,code",
    [
        (ValidationError("bad"), 400, "bad_request"),
        (PermissionDenied("no"), 403, "forbidden"),
        (NotFound("gone"), 404, "not_found"),
        (Conflict("dup"), 409, "conflict"),
        (InvalidTransition("ended"), 409, "invalid_transition"),
        (PayloadTooLarge("big"), 413, "payload_too_large"),
        (RuntimeError("secret detail"), 500, "internal"),
    ],
)
def test_errors_map_to_status_and_code(error: Exception, status: int, code: str) -> None:
    api = to_api_error(error)
    assert (api.status, api.code) == (status, code)
    if status == 500:
        assert "secret detail" not in api.message


def test_unauthorized_response_carries_www_authenticate() -> None:
    response = error_response(Unauthorized("missing bearer token"))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.body == b'{"error":{"code":"unauthorized","message":"missing bearer token"}}'


def test_api_error_keeps_status_code_and_message() -> None:
    error = ApiError(418, "teapot", "short and stout")
    assert (error.status, error.code, error.message, str(error)) == (
        418,
        "teapot",
        "short and stout",
        "short and stout",
    )


@pytest.mark.parametrize(
    "error,close_code",
    [
        (Unauthorized(), 4401),
        (PermissionDenied("x"), 4403),
        (NotFound("x"), 4404),
        (PayloadTooLarge(), 1009),
        (ValueError("x"), 1011),
    ],
)
def test_websocket_close_codes(error: Exception, close_code: int) -> None:
    assert websocket_close(error)[0] == close_code
