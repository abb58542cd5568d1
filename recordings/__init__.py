"""Recordings: mux encoded frames without transcoding, plus the lesson timeline.

``LessonRecorder`` follows a lesson's feeds with ``media.FeedTap``s; ``depacketize``
turns RTP payloads into encoded frames; ``MediaWriter`` muxes them on its own thread.
"""

from .clock import MediaClock
from .depacketize import EncodedFrame, depacketizer_for
from .recorder import Alarm, LessonRecorder, RecordedTrack
from .writer import MediaWriter, WriterTrack

__all__ = [
    "Alarm",
    "EncodedFrame",
    "LessonRecorder",
    "MediaClock",
    "MediaWriter",
    "RecordedTrack",
    "WriterTrack",
    "depacketizer_for",
]
