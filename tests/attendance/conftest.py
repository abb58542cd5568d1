"""Attendance store tests run on SQLite and on PostgreSQL."""

from tests.support.databases import open_db  # noqa: F401  (fixture)
