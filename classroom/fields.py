"""Checks of request fields shared by the use cases: unknown fields, required text, reasons, keys.

Each raises :class:`~classroom.errors.ValidationError` naming the field, so a bad request is a 400
that changes nothing.

Text from outside (the one policy, used by the JSON readers of the HTTP and WebSocket edges too):

- lone surrogates (U+D800-U+DFFF) are refused everywhere: they cannot be stored or sent as UTF-8;
- control characters (C0 U+0000-U+001F, DEL and C1 U+007F-U+009F) are refused in ids and one-line
  text (names, titles, ids, subjects); free text that may have lines (chat, reasons, notes) may
  hold tab, line feed and carriage return and nothing else of them. Text is refused, never
  silently altered, and the error names the field without echoing the text.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

from classroom.errors import ValidationError

__all__ = ["MAX_KEY_CHARS", "MAX_REASON_CHARS", "clean_text", "idempotency_key", "reason", "reject_unknown",
           "required_text", "text_problem"]

MAX_REASON_CHARS = 500
MAX_KEY_CHARS = 100


def reject_unknown(body: Mapping[str, Any], allowed: set[str]) -> None:
    """Refuse fields other than ``allowed`` (a typo must not be silently ignored)."""
    unknown = set(body) - allowed
    if unknown:
        raise ValidationError(f"unknown field(s): {', '.join(sorted(unknown))}")


_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL_IN_LINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def text_problem(value: str, *, lines: bool) -> str | None:
    """What makes ``value`` unacceptable as text from outside, or None; ``lines``: tab and line breaks allowed."""
    if _SURROGATE.search(value):
        return "must not contain lone surrogates"
    if (_CONTROL_IN_LINES if lines else _CONTROL).search(value):
        return "must not contain control characters"
    return None


def clean_text(field: str, value: str, *, lines: bool = True) -> str:
    """``value`` unless :func:`text_problem` finds a problem with it (then a ValidationError naming ``field``)."""
    problem = text_problem(value, lines=lines)
    if problem is not None:
        raise ValidationError(f"{field} {problem}")
    return value


def required_text(body: Mapping[str, Any], field: str, limit: int) -> str:
    """A non-blank string of at most ``limit`` characters, stripped."""
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} is required")
    if len(value) > limit:
        raise ValidationError(f"{field} must be at most {limit} characters")
    return clean_text(field, value.strip())


def reason(body: Mapping[str, Any], *, required: bool = True) -> str:
    """The ``reason`` of a correction or decision (audited with its author)."""
    if not required and not body.get("reason"):
        if body.get("reason", "") != "":
            raise ValidationError("reason must be text")
        return ""
    return required_text(body, "reason", MAX_REASON_CHARS)


def idempotency_key(header: str | None, *, required: bool) -> str:
    """The ``Idempotency-Key`` of a request; without one (when optional) a fresh random key."""
    if header is None:
        if required:
            raise ValidationError("an Idempotency-Key header is required")
        return secrets.token_hex(12)
    key = header.strip()
    if not key or len(key) > MAX_KEY_CHARS or not key.isprintable():
        raise ValidationError(f"the Idempotency-Key is 1 to {MAX_KEY_CHARS} printable characters")
    return key
