"""Every store test of this folder runs against SQLite and against a real PostgreSQL (``open_db``)."""

from tests.support.databases import open_db  # noqa: F401  (fixture)
