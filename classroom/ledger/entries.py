"""Ledger entries: what a caller asks to append (:class:`EntryDraft`) and what was appended (:class:`Entry`).

Amounts are integer centi-credits (1 credit = 100). An entry is never changed or deleted; a correction
is a REVERSAL entry that names the entry it reverses (``ref``) with the negated amount, an author and
a reason. Every draft carries an idempotency ``key``: appending the same key with the same content
again is a no-op, with different content an :class:`IdempotencyConflict`.

Row order, shared by the store's columns and :func:`classroom.ledger.chain.verify_rows`::

    seq, at, key, kind, student, school, course, lesson, amount, ref, author, reason, detail, prev_hash, hash

where ``detail`` is the canonical JSON text of the detail mapping (:func:`canonical_detail`).
"""

from __future__ import annotations

import contextlib
import enum
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from classroom.credits import format_credits
from classroom.errors import Conflict, ValidationError

__all__ = [
    "ROW_FIELDS",
    "Detail",
    "Entry",
    "EntryDraft",
    "EntryKind",
    "EntryRow",
    "IdempotencyConflict",
    "Scalar",
    "canonical_detail",
    "entry_from_row",
    "entry_row",
    "format_at",
    "format_credits",
    "same_content",
    "validate_at",
    "validate_draft",
]

Scalar = str | int | float | bool | None
EntryRow = tuple[Any, ...]

ROW_FIELDS = (
    "seq", "at", "key", "kind", "student", "school", "course", "lesson",
    "amount", "ref", "author", "reason", "detail", "prev_hash", "hash",
)  # fmt: skip

MAX_KEY = 200
MAX_ID = 200
MAX_REASON = 2000
MAX_DETAIL_ITEMS = 32
MAX_DETAIL_TEXT = 1000
MAX_AMOUNT = 10**12  # centi-credits, either sign

_AT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
_CANONICAL = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False)


class EntryKind(str, enum.Enum):
    """What an entry records."""

    EARNED = "earned"  # credits earned in a lesson, at the lesson's school
    RECOGNISED = "recognised"  # the student's home school posted an earned entry (ref = earned seq)
    RECOGNITION_VOIDED = "recognition_voided"  # the home school voided it (ref = earned seq, amount 0)
    REVERSAL = "reversal"  # reverses entry ref: amount = -(its amount); reason and author required
    LEVEL_CHANGE = "level_change"  # detail {"from": "tin", "to": "iron", "recognised": <centi>}


_KINDS = {kind.value: kind for kind in EntryKind}


class IdempotencyConflict(Conflict):
    """An idempotency key was used again with different content; nothing was appended."""


class Detail(Mapping[str, Scalar]):
    """An immutable, hashable mapping of scalars, kept sorted by key."""

    __slots__ = ("_items", "_map")

    def __init__(self, items: Mapping[str, Scalar] | Iterable[tuple[str, Scalar]] = ()) -> None:
        mapping = dict(items)
        self._items: tuple[tuple[str, Scalar], ...] = tuple(sorted(mapping.items(), key=lambda kv: str(kv[0])))
        self._map = dict(self._items)

    def __getitem__(self, key: str) -> Scalar:
        return self._map[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"Detail({self._map!r})"


@dataclass(frozen=True)
class EntryDraft:
    """What a caller asks to append. ``kind`` may be given as its string value; ``detail`` is frozen."""

    key: str
    kind: EntryKind
    student: str
    school: str
    course: str = ""
    lesson: str = ""
    amount: int = 0
    ref: int | None = None
    author: str = ""
    reason: str = ""
    detail: Mapping[str, Scalar] = field(default_factory=Detail)

    def __post_init__(self) -> None:
        if not isinstance(self.kind, EntryKind) and isinstance(self.kind, str) and self.kind in _KINDS:
            object.__setattr__(self, "kind", _KINDS[self.kind])
        if not isinstance(self.detail, Detail):
            with contextlib.suppress(TypeError, ValueError):  # left as given: validate_draft reports it
                object.__setattr__(self, "detail", Detail(self.detail))


@dataclass(frozen=True)
class Entry:
    """An appended entry: its draft, its place in the chain and its hashes.

    The draft's fields read through: ``entry.kind``, ``entry.amount``, ``entry.student`` ...
    """

    seq: int
    at: str
    draft: EntryDraft
    prev_hash: str
    hash: str

    @property
    def key(self) -> str:
        return self.draft.key

    @property
    def kind(self) -> EntryKind:
        return self.draft.kind

    @property
    def student(self) -> str:
        return self.draft.student

    @property
    def school(self) -> str:
        return self.draft.school

    @property
    def course(self) -> str:
        return self.draft.course

    @property
    def lesson(self) -> str:
        return self.draft.lesson

    @property
    def amount(self) -> int:
        return self.draft.amount

    @property
    def ref(self) -> int | None:
        return self.draft.ref

    @property
    def author(self) -> str:
        return self.draft.author

    @property
    def reason(self) -> str:
        return self.draft.reason

    @property
    def detail(self) -> Mapping[str, Scalar]:
        return self.draft.detail

    @property
    def credits(self) -> str:
        """The amount in credits with two decimals, e.g. ``"1.50"`` or ``"-0.25"``."""
        return format_credits(self.draft.amount)

    def to_json(self) -> dict[str, Any]:
        """The entry as a JSON object (amount in centi-credits and as a ``credits`` string)."""
        d = self.draft
        return {
            "seq": self.seq,
            "at": self.at,
            "key": d.key,
            "kind": d.kind.value,
            "student": d.student,
            "school": d.school,
            "course": d.course,
            "lesson": d.lesson,
            "amount": d.amount,
            "credits": self.credits,
            "ref": d.ref,
            "author": d.author,
            "reason": d.reason,
            "detail": dict(d.detail),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def format_at(moment: datetime) -> str:
    """An aware datetime as RFC 3339 UTC with microseconds: ``2026-11-24T10:00:00.123456Z``."""
    if moment.tzinfo is None:
        raise ValueError("the time must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def validate_at(at: str) -> None:
    """ValidationError unless ``at`` looks like ``2026-11-24T10:00:00.123456Z``."""
    if not isinstance(at, str) or not _AT.match(at):
        raise ValidationError(f"time {at!r} must be RFC 3339 UTC with microseconds, e.g. 2026-11-24T10:00:00.000000Z")


def canonical_detail(detail: Mapping[str, Scalar]) -> str:
    """The detail as canonical JSON text: sorted keys, no spaces, UTF-8 characters kept."""
    return _CANONICAL.encode(dict(detail))


# --- validation ----------------------------------------------------------------------------------


def _text(name: str, value: object, *, required: bool, limit: int) -> None:
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string")
    if required and not value.strip():
        raise ValidationError(f"{name} must not be empty")
    if len(value) > limit:
        raise ValidationError(f"{name} is longer than {limit} characters")
    if "\x00" in value:
        raise ValidationError(f"{name} must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"{name} is not valid Unicode text") from None


def _check_texts(d: EntryDraft) -> None:
    _text("key", d.key, required=True, limit=MAX_KEY)
    _text("student", d.student, required=True, limit=MAX_ID)
    _text("school", d.school, required=True, limit=MAX_ID)
    for name in ("course", "lesson", "author"):
        _text(name, getattr(d, name), required=False, limit=MAX_ID)
    _text("reason", d.reason, required=False, limit=MAX_REASON)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_numbers(d: EntryDraft) -> None:
    if not isinstance(d.kind, EntryKind):
        raise ValidationError(f"kind {d.kind!r} must be one of {', '.join(_KINDS)}")
    if not _is_int(d.amount) or abs(d.amount) > MAX_AMOUNT:
        raise ValidationError(f"amount must be an integer number of centi-credits within +-{MAX_AMOUNT}")
    if d.ref is not None and (not _is_int(d.ref) or d.ref < 1):
        raise ValidationError("ref must be the seq (a positive integer) of an earlier entry")


def _check_detail_value(key: object, value: object) -> None:
    if not isinstance(key, str) or not key:
        raise ValidationError("detail keys must be non-empty strings")
    _text(f"detail key {key!r}", key, required=True, limit=MAX_ID)
    if isinstance(value, str):
        _text(f"detail {key!r}", value, required=False, limit=MAX_DETAIL_TEXT)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(f"detail {key!r} must be a finite number")
    elif value is not None and not isinstance(value, int | float | bool):
        raise ValidationError(f"detail {key!r} must be a string, number, boolean or null")


def _check_detail(d: EntryDraft) -> None:
    if not isinstance(d.detail, Mapping):
        raise ValidationError("detail must be a mapping of names to scalars")
    if len(d.detail) > MAX_DETAIL_ITEMS:
        raise ValidationError(f"detail has more than {MAX_DETAIL_ITEMS} items")
    for key, value in d.detail.items():
        _check_detail_value(key, value)


def _needs_ref(d: EntryDraft) -> None:
    if d.ref is None:
        raise ValidationError(f"a {d.kind.value} entry must name the entry it refers to (ref)")


def _reversal(d: EntryDraft) -> None:
    _needs_ref(d)
    if not d.reason.strip() or not d.author.strip():
        raise ValidationError("a reversal needs a reason and an author")


def _voided(d: EntryDraft) -> None:
    _needs_ref(d)
    if d.amount != 0:
        raise ValidationError("a recognition_voided entry has amount 0")


_KIND_RULES: dict[EntryKind, Callable[[EntryDraft], None]] = {
    EntryKind.EARNED: lambda d: None,
    EntryKind.RECOGNISED: _needs_ref,
    EntryKind.RECOGNITION_VOIDED: _voided,
    EntryKind.REVERSAL: _reversal,
    EntryKind.LEVEL_CHANGE: lambda d: None,
}


def validate_draft(d: EntryDraft) -> None:
    """Raise ValidationError when the draft is malformed or out of bounds."""
    _check_texts(d)
    _check_numbers(d)
    _check_detail(d)
    _KIND_RULES[d.kind](d)


def _content(d: EntryDraft) -> tuple[Any, ...]:
    fields = (d.key, d.kind, d.student, d.school, d.course, d.lesson, d.amount, d.ref, d.author, d.reason)
    return (*fields, canonical_detail(d.detail))


def same_content(draft: EntryDraft, entry: Entry) -> bool:
    """True when every field of ``draft`` equals the appended entry's (detail compared canonically)."""
    return _content(draft) == _content(entry.draft)


# --- rows ----------------------------------------------------------------------------------------


def entry_row(entry: Entry) -> EntryRow:
    """The entry as a row in :data:`ROW_FIELDS` order (detail as canonical JSON text)."""
    d = entry.draft
    return (
        entry.seq, entry.at, d.key, d.kind.value, d.student, d.school, d.course, d.lesson,
        d.amount, d.ref, d.author, d.reason, canonical_detail(d.detail), entry.prev_hash, entry.hash,
    )  # fmt: skip


def entry_from_row(row: EntryRow) -> Entry:
    """An :class:`Entry` from a row in :data:`ROW_FIELDS` order."""
    seq, at, key, kind, student, school, course, lesson, amount, ref, author, reason, detail, prev, digest = row
    draft = EntryDraft(
        key=key,
        kind=EntryKind(kind),
        student=student,
        school=school,
        course=course,
        lesson=lesson,
        amount=amount,
        ref=ref,
        author=author,
        reason=reason,
        detail=Detail(json.loads(detail)),
    )
    return Entry(seq=seq, at=at, draft=draft, prev_hash=prev, hash=digest)
