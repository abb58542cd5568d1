"""Shared request-field checks: unknown fields, required text, reasons, idempotency keys."""

from __future__ import annotations

from typing import Any

import pytest

from classroom.errors import ValidationError
from classroom.fields import idempotency_key, reason, reject_unknown, required_text


def test_unknown_fields_are_named() -> None:
    reject_unknown({"a": 1}, {"a", "b"})
    with pytest.raises(ValidationError, match="unknown field.*: c, d"):
        reject_unknown({"a": 1, "d": 2, "c": 3}, {"a"})


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "   "}, {"name": 7}, {"name": "x" * 11}],
                         ids=["missing", "empty", "blank", "not-text", "too-long"])
def test_required_text_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="name"):
        required_text(body, "name", 10)


def test_required_text_is_stripped() -> None:
    assert required_text({"name": "  王 芳 "}, "name", 10) == "王 芳"


@pytest.mark.parametrize(("body", "required", "expected"),
                         [({"reason": "late bus"}, True, "late bus"), ({}, False, ""), ({"reason": ""}, False, "")])
def test_reasons(body: dict[str, Any], required: bool, expected: str) -> None:
    assert reason(body, required=required) == expected


@pytest.mark.parametrize(("body", "required"), [({}, True), ({"reason": " "}, True), ({"reason": 5}, False),
                                                ({"reason": "r" * 501}, False)])
def test_bad_reasons_are_refused(body: dict[str, Any], required: bool) -> None:
    with pytest.raises(ValidationError, match="reason"):
        reason(body, required=required)


def test_idempotency_keys() -> None:
    assert idempotency_key(" tick-1 ", required=True) == "tick-1"
    assert len(idempotency_key(None, required=False)) == 24
    for bad in ("", "  ", "k" * 101, "a\nb"):
        with pytest.raises(ValidationError):
            idempotency_key(bad, required=False)
    with pytest.raises(ValidationError, match="required"):
        idempotency_key(None, required=True)
