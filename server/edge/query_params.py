"""Whole numbers from a request's query string, refused with a 400 that names the parameter."""

from __future__ import annotations

from starlette.requests import Request

from server.edge.errors import BadRequest

__all__ = ["query_number"]


def query_number(request: Request, name: str, default: int | None = None, *, digits: int = 12) -> int:
    """``?name=`` as a non-negative whole number of at most ``digits`` ASCII digits; ``default``
    when absent, or a 400 when there is no default."""
    text = request.query_params.get(name)
    if text is None:
        if default is None:
            raise BadRequest(f"{name} is required")
        return default
    if not (text.isascii() and text.isdigit()) or len(text) > digits:
        raise BadRequest(f"{name} must be a non-negative whole number")
    return int(text)
