"""The credit bank's people directory: schools, classrooms, students, courses and enrolments.

``store`` holds the tables (transaction-level functions and ``DirectoryStore``); ``service`` holds
the use cases with their authorisation (``Directory``); the routes are in ``server.directory.routes``.
"""

from __future__ import annotations

__all__: list[str] = []
