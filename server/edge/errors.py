"""The one place where errors become HTTP responses and WebSocket close codes.

    ApiError (status, code, message)          raised by the HTTP/WS edge
    ├── BadRequest             400
    ├── Unauthorized           401  (+ WWW-Authenticate: Bearer)
    ├── Forbidden              403
    ├── NotFoundError          404
    ├── ConflictError          409
    ├── PayloadTooLarge        413
    ├── UnsupportedMediaType   415
    ├── TooManyRequests        429  (+ Retry-After)
    └── ServiceUnavailable     503  (+ Retry-After)

    server.edge.database.Unavailable            -> 503 unavailable (the database cannot be reached)

    classroom.errors.DomainError               raised by the pure domain
    ├── ValidationError     -> 400 bad_request
    ├── PermissionDenied    -> 403 forbidden
    ├── NotFound            -> 404 not_found
    ├── Conflict            -> 409 conflict
    ├── InvalidTransition   -> 409 invalid_transition
    ├── RateLimited         -> 429 rate_limited
    └── LedgerTampered      -> 503 ledger_tampered

Every error body is ``{"error": {"code": str, "message": str}}``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from classroom.errors import (
    Conflict,
    DomainError,
    InvalidTransition,
    LedgerTampered,
    NotFound,
    PermissionDenied,
    RateLimited,
    ValidationError,
)
from server.edge.database import Unavailable

__all__ = [
    "ApiError",
    "BadRequest",
    "ConflictError",
    "Forbidden",
    "NotFoundError",
    "PayloadTooLarge",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
    "error_response",
    "exception_handlers",
    "install_error_handlers",
    "to_api_error",
    "websocket_close",
]

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error with an HTTP status, a stable machine code and a human message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after_s: int | None = None


class _Fixed(ApiError):
    status_code = 500
    error_code = "internal"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(self.status_code, self.error_code, message or self.error_code)


class BadRequest(_Fixed):
    status_code, error_code = 400, "bad_request"


class Unauthorized(_Fixed):
    status_code, error_code = 401, "unauthorized"


class Forbidden(_Fixed):
    status_code, error_code = 403, "forbidden"


class NotFoundError(_Fixed):
    status_code, error_code = 404, "not_found"


class ConflictError(_Fixed):
    status_code, error_code = 409, "conflict"


class PayloadTooLarge(_Fixed):
    status_code, error_code = 413, "payload_too_large"


class UnsupportedMediaType(_Fixed):
    status_code, error_code = 415, "unsupported_media_type"


class _RetryLater(_Fixed):
    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TooManyRequests(_RetryLater):
    status_code, error_code = 429, "rate_limited"


class ServiceUnavailable(_RetryLater):
    status_code, error_code = 503, "unavailable"


_DOMAIN: dict[type[DomainError], tuple[int, str]] = {
    ValidationError: (400, "bad_request"),
    PermissionDenied: (403, "forbidden"),
    NotFound: (404, "not_found"),
    Conflict: (409, "conflict"),
    InvalidTransition: (409, "invalid_transition"),
    RateLimited: (429, "rate_limited"),
    LedgerTampered: (503, "ledger_tampered"),
}

_WS_CLOSE: dict[int, int] = {400: 4400, 401: 4401, 403: 4403, 404: 4404, 409: 4409, 413: 1009, 503: 1013}


def to_api_error(exc: Exception) -> ApiError:
    """Translate any error into an ApiError (unknown errors become a 500 without details)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, Unavailable):
        return ApiError(503, "unavailable", "the database is unavailable; retry shortly")
    if isinstance(exc, DomainError):
        for kind, (status, code) in _DOMAIN.items():
            if isinstance(exc, kind):
                return ApiError(status, code, exc.message)
    return ApiError(500, "internal", "internal server error")


def error_response(error: ApiError) -> JSONResponse:
    """The JSON response for an ApiError."""
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else {}
    if error.retry_after_s is not None:
        headers["Retry-After"] = str(error.retry_after_s)
    body = {"error": {"code": error.code, "message": error.message}}
    return JSONResponse(body, status_code=error.status, headers=headers)


def websocket_close(exc: Exception) -> tuple[int, str]:
    """(close code, reason) for a WebSocket: 4000 + HTTP status, 1009 too big, 1011 internal."""
    error = to_api_error(exc)
    return _WS_CLOSE.get(error.status, 1011), error.message[:120]


async def _api_error(request: Request, exc: Exception) -> Response:
    return error_response(to_api_error(exc))


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    error = ApiError(exc.status_code, code, str(exc.detail))
    response = error_response(error)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _internal(request: Request, exc: Exception) -> Response:
    log.error("unhandled error path=%s", request.url.path, exc_info=exc)
    return error_response(ApiError(500, "internal", "internal server error"))


Handler = Callable[[Request, Exception], Awaitable[Response]]

exception_handlers: Mapping[Any, Handler] = {
    ApiError: _api_error,
    DomainError: _api_error,
    Unavailable: _api_error,
    HTTPException: _http_exception,
    Exception: _internal,
}
"""Pass as ``Starlette(exception_handlers=dict(exception_handlers))``."""


def install_error_handlers(app: Any) -> None:
    """Register the JSON error handlers on an existing Starlette app."""
    for kind, handler in exception_handlers.items():
        app.add_exception_handler(kind, handler)
