"""Presence of remote classrooms and their students: the raw events attendance is computed from."""
