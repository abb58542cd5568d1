"""Names of the media feeds of a lesson. A feed is a stable source that outlives reconnects.

The teacher's feeds are named by role, not by session, so that a teacher who
reloads her page publishes into the same feeds and viewers keep watching.
"""

from __future__ import annotations

__all__ = ["TEACHER", "TEACHER_FEEDS", "feed_key", "feed_owner", "participant_prefix", "whip_feed"]

TEACHER = "teacher"
TEACHER_FEEDS = ("camera", "mic", "screen")
STAGE_FEEDS = ("camera", "mic")
FEED_KINDS = {"camera": "video", "screen": "video", "mic": "audio"}


def participant_prefix(subject: str, is_teacher: bool) -> str:
    return TEACHER if is_teacher else f"classroom:{subject}"


def feed_key(prefix: str, name: str) -> str:
    """``teacher/camera``, ``classroom:kunming-3/mic``..."""
    return f"{prefix}/{name}"


def feed_owner(key: str) -> str:
    return key.rsplit("/", 1)[0]


def whip_feed(kind: str) -> str:
    """The teacher feed a WHIP/WHEP track of ``kind`` maps to."""
    return feed_key(TEACHER, "mic" if kind == "audio" else "camera")
