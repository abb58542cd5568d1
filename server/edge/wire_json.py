"""JSON from and to the outside: one strict reader for untrusted documents, one strict writer.

:func:`loads` reads a request body or a lesson-channel message. Beyond RFC 8259 syntax it refuses,
with a :class:`JsonRejected` whose message never echoes the input:

- ``NaN``, ``Infinity``, ``-Infinity`` and numbers too large for a float (``1e999``): no field
  takes them and a browser's ``JSON.parse`` cannot read them back;
- integers outside the signed 64-bit range (they cost quadratic time to convert, no field takes
  them and SQLite cannot store them);
- nesting deeper than :data:`MAX_DEPTH` arrays and objects;
- text (keys and values) that :func:`classroom.fields.text_problem` refuses in free text: lone
  surrogates, and control characters other than tab, line feed and carriage return. The message
  names where: ``students[2] must not contain control characters``.

:func:`dumps` writes what the server sends or stores: compact UTF-8 and ``allow_nan=False``, so a
non-finite number raises ``ValueError`` here instead of reaching a browser as a bare ``Infinity``.
"""

from __future__ import annotations

import json
from typing import Any

from classroom.fields import text_problem

__all__ = ["MAX_DEPTH", "MAX_INT", "JsonRejected", "dumps", "loads"]

MAX_DEPTH = 32
MAX_INT = 2**63 - 1
_MAX_INT_DIGITS = len(str(MAX_INT))


class JsonRejected(ValueError):
    """A document the server does not read; ``syntax``: it is not JSON at all (else: JSON it refuses).

    ``where`` names the offending field (``students[2]``) when one is to blame; :meth:`describe`
    makes the message, e.g. ``describe("body")`` is ``body is nested more than 32 levels deep``.
    ``document`` is the decoded document when it was decoded and then refused (else None): a
    caller may take a request id from it to answer with, after checking that id itself.
    """

    def __init__(self, problem: str, *, where: str | None = None, syntax: bool = False) -> None:
        super().__init__(problem)
        self.problem = problem
        self.where = where
        self.syntax = syntax
        self.document: Any = None

    def describe(self, document: str) -> str:
        return f"{self.where or document} {self.problem}"


def _constant(name: str) -> Any:
    raise JsonRejected(f"is not JSON: {name} is not a JSON number", syntax=True)


def _float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise JsonRejected("holds a number too large for a float")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS or not -MAX_INT <= (value := int(text)) <= MAX_INT:
        raise JsonRejected(f"holds an integer beyond ±{MAX_INT}")
    return value


def _where(path: tuple[str | int, ...]) -> str | None:
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")
    return text if text and text.isprintable() and len(text) <= 80 else None


def _check_text(value: str, path: tuple[str | int, ...], *, key: bool = False) -> None:
    problem = text_problem(value, lines=True)
    if problem is not None:
        raise JsonRejected(f"has a field name that {problem}" if key else problem, where=_where(path))


def _children(value: Any, path: tuple[str | int, ...]) -> list[tuple[Any, tuple[str | int, ...]]]:
    if isinstance(value, dict):
        for key in value:
            _check_text(key, path, key=True)
        return [(item, (*path, key)) for key, item in value.items()]
    return [(item, (*path, index)) for index, item in enumerate(value)]


def _check_tree(document: Any) -> None:
    """Depth and text of every node, iteratively (cost linear in the document)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            _check_text(value, path)
        elif isinstance(value, (dict, list)):
            if len(path) >= MAX_DEPTH:
                raise JsonRejected(f"is nested more than {MAX_DEPTH} levels deep")
            stack.extend(_children(value, path))


def loads(raw: str | bytes) -> Any:
    """The decoded document, or JsonRejected (see the module docstring)."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        document = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except UnicodeDecodeError as exc:
        raise JsonRejected(f"is not UTF-8 text (byte {exc.start} is not)", syntax=True) from None
    except json.JSONDecodeError as exc:
        raise JsonRejected(f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                           syntax=True) from None
    except RecursionError:
        raise JsonRejected(f"is nested more than {MAX_DEPTH} levels deep") from None
    try:
        _check_tree(document)
    except JsonRejected as exc:
        exc.document = document
        raise
    return document


def dumps(value: Any) -> str:
    """Compact JSON for the wire or a stored log; ValueError for a non-finite number."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
