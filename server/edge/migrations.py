"""Versioned schema changes: each capability's migrations, numbered, applied once, at open.

A capability (lessons, recordings, training, directory, presence, attendance, ledger, credits)
owns its tables and describes them as a :class:`Migrations`: an ordered tuple of steps, step
``i`` bringing the capability from version ``i`` to ``i + 1``. A step is SQL (statements separated
by ``;``, written with the words ``{serial}``, ``{blob}`` and ``{real}`` that differ between the
engines) or a function ``fn(tx)`` for a change SQL cannot say alone (moving data, say).

The table ``schema_migrations (capability, version, applied_at)`` records what a database holds.
``migrate_in`` runs, in the database's opening transaction, every step a capability has not had
yet, then records it; a database already at the latest version is left as it is. The opening
transaction is exclusive (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped advisory
lock on the namespace), so two nodes starting at once migrate once, one after the other.

Version 1 of every capability is the schema the code before migrations created, written with
``IF NOT EXISTS``: a database made by that code (which has the tables but no
``schema_migrations``) is brought to version 1 without a change, then on. Steps are never edited
once released: a change is a new step at the end.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.edge.database import Tx

__all__ = [
    "Migrations",
    "SchemaTooNew",
    "applied_versions_in",
    "as_migrations",
    "migrate_in",
    "render_schema",
    "statements",
]

_WORDS = {
    "sqlite": {"serial": "INTEGER PRIMARY KEY AUTOINCREMENT", "blob": "BLOB", "real": "REAL"},
    "postgresql": {"serial": "BIGSERIAL PRIMARY KEY", "blob": "BYTEA", "real": "DOUBLE PRECISION"},
}
_CAPABILITY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    capability TEXT NOT NULL,
    version INTEGER NOT NULL,
    applied_at {real} NOT NULL,
    PRIMARY KEY (capability, version)
)
"""


class SchemaTooNew(Exception):
    """The database holds a later version of a capability than this code knows: newer code made it."""


@dataclass(frozen=True)
class Migrations:
    """A capability's schema as its ordered steps; ``version`` is how many there are."""

    capability: str
    steps: tuple[str | Callable[[Tx], None], ...]

    def __post_init__(self) -> None:
        if not _CAPABILITY.match(self.capability):
            raise ValueError(f"capability {self.capability!r} must be a lower-case identifier")

    @property
    def version(self) -> int:
        return len(self.steps)


def as_migrations(schema: Migrations | Sequence[Migrations]) -> tuple[Migrations, ...]:
    """One capability's migrations or several, as a tuple; a capability named twice is refused."""
    found = (schema,) if isinstance(schema, Migrations) else tuple(schema)
    names = [m.capability for m in found]
    if len(set(names)) != len(names):
        raise ValueError(f"a capability is named twice: {', '.join(sorted(names))}")
    return found


def render_schema(schema: str, dialect: str) -> str:
    """The SQL with ``{serial}``, ``{blob}`` and ``{real}`` replaced for ``dialect``."""
    return schema.format(**_WORDS[dialect])


def statements(script: str) -> list[str]:
    """The statements of ``script`` (our DDL has no ``;`` inside a statement)."""
    return [part.strip() for part in script.split(";") if part.strip()]


def applied_versions_in(tx: Tx) -> dict[str, int]:
    """The version of every capability the database has had migrations of."""
    rows = tx.all("SELECT capability, MAX(version) FROM schema_migrations GROUP BY capability")
    return {str(capability): int(version) for capability, version in rows}


def migrate_in(tx: Tx, migrations: Sequence[Migrations]) -> dict[str, list[int]]:
    """Apply the steps each capability lacks, in order; per capability the versions applied now.

    Runs in the caller's (exclusive) transaction: a failing step rolls every step of this open back.
    Raises SchemaTooNew if the database is ahead of this code. With no migrations (a tool that only
    reads, like the ledger's verifier) it changes nothing.
    """
    if not migrations:
        return {}
    _run_sql(tx, _MIGRATIONS_TABLE)
    current = applied_versions_in(tx)
    applied: dict[str, list[int]] = {}
    for capability in migrations:
        have = current.get(capability.capability, 0)
        if have > capability.version:
            raise SchemaTooNew(f"the database holds {capability.capability} version {have}; this code knows "
                               f"up to {capability.version}")
        applied[capability.capability] = [_apply(tx, capability, version) for version in
                                          range(have + 1, capability.version + 1)]
    return applied


def _apply(tx: Tx, capability: Migrations, version: int) -> int:
    step = capability.steps[version - 1]
    if isinstance(step, str):
        _run_sql(tx, step)
    else:
        step(tx)
    tx.execute("INSERT INTO schema_migrations (capability, version, applied_at) VALUES (?, ?, ?)",
               (capability.capability, version, time.time()))
    return version


def _run_sql(tx: Tx, script: str) -> None:
    for statement in statements(render_schema(script, tx.dialect)):
        tx.execute(statement)
