"""Lessons: the use cases, the lesson store port and its SQLite store, the lessons API."""
