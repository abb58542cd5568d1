"""Records a live aiortc publisher for a few seconds, prints how much is muxed, then SIGKILLs itself.

Run by test_recorder.py as ``python -m tests.recordings.record_then_die <directory> <seconds>``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from recordings import LessonRecorder
from tests.recordings.live import LiveLesson
from tests.support.wait import wait_for


async def main(directory: Path, seconds: float) -> None:
    lesson = LiveLesson()
    recorder = LessonRecorder(lesson.router, directory)
    await lesson.publish()
    writer = recorder._recordings[0].writer
    await wait_for(lambda: writer.duration_ms >= seconds * 1000, 30)
    print(f"muxed_ms={writer.duration_ms}", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), float(sys.argv[2])))
