"""Attendance computed from presence events, its corrections and its exports."""
