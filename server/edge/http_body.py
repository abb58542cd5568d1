"""Reading bounded JSON request bodies."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from server.edge.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from server.edge.wire_json import JsonRejected, loads

__all__ = ["DEFAULT_MAX_BODY_BYTES", "read_body", "read_json_object"]

DEFAULT_MAX_BODY_BYTES = 16 * 1024


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body; raises PayloadTooLarge past ``limit`` bytes without reading the rest."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadRequest("invalid Content-Length")
        if int(declared) > limit:
            raise PayloadTooLarge(f"body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_json_object(request: Request, limit: int = DEFAULT_MAX_BODY_BYTES) -> dict[str, Any]:
    """A JSON object body: 415 unless application/json, 413 if too large, 400 if malformed or refused
    by :func:`server.edge.wire_json.loads` (non-finite or huge numbers, deep nesting, surrogates, control
    characters)."""
    if _media_type(request) != "application/json":
        raise UnsupportedMediaType("Content-Type must be application/json")
    raw = await read_body(request, limit)
    try:
        value = loads(raw)
    except JsonRejected as exc:
        raise BadRequest(exc.describe("body")) from None
    if not isinstance(value, dict):
        raise BadRequest("body must be a JSON object")
    return value
