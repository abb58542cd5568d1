"""Checks of request fields shared by the use cases: unknown fields, required text, reasons, keys.

Each raises :class:`~classroom.errors.ValidationError` naming the field, so a bad request is a 400
that changes nothing.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Mapping
from typing import Any

from classroom.errors import ValidationError

__all__ = ["MAX_KEY_CHARS", "MAX_REASON_CHARS", "clean_text", "idempotency_key", "reason", "reject_unknown",
           "required_text"]

MAX_REASON_CHARS = 500
MAX_KEY_CHARS = 100


def reject_unknown(body: Mapping[str, Any], allowed: set[str]) -> None:
    """Refuse fields other than ``allowed`` (a typo must not be silently ignored)."""
    unknown = set(body) - allowed
    if unknown:
        raise ValidationError(f"unknown field(s): {', '.join(sorted(unknown))}")


def clean_text(field: str, value: str) -> str:
    """``value`` unless it holds control characters (other than tab and line breaks) or lone surrogates."""
    if any(unicodedata.category(char) in ("Cc", "Cs") and char not in "\t\n\r" for char in value):
        raise ValidationError(f"{field} must not contain control characters")
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
