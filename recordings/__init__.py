"""Recordings: mux encoded frames without transcoding, plus the lesson timeline."""
