"""SIGKILL the real server mid-lesson: the recording plays up to near the kill and is marked interrupted."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import httpx
from aiortc import RTCPeerConnection, RTCSessionDescription

from classroom.roles import Role
from server.edge.secret import load_or_create_secret
from server.edge.tokens import TokenCodec
from tests.support.peers import SyntheticAudio, SyntheticVideo, publisher_offer
from tests.support.processes import ROOT, env_for
from tests.support.servers import free_port

RECORD_S = 3.0


async def healthy(base: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            assert process.poll() is None, "the server exited"
            try:
                if (await http.get(f"{base}/api/health")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError("the server did not answer /api/health")


def serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "server", "serve", "--port", str(port), "--log-level", "warning"]
    return subprocess.Popen(argv, env=env_for(data_dir), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def recorded_until(path: Path) -> float:
    """Seconds of video that decode from a file whose writer was killed."""
    last = 0.0
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None:
                last = max(last, frame.time)
    return last


async def test_a_killed_server_leaves_a_playable_recording_marked_interrupted_on_restart(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "var", free_port()
    base = f"http://127.0.0.1:{port}"
    process = serve(data_dir, port)
    pc = RTCPeerConnection()
    try:
        await healthy(base, process)
        teacher = {"Authorization": "Bearer " + TokenCodec(load_or_create_secret(data_dir)).issue(
            "alice", Role.TEACHER, "east")}
        async with httpx.AsyncClient(base_url=base, headers=teacher) as http:
            lesson = (await http.post("/api/lessons", json={"title": "Injection moulding"})).json()
            offer = await publisher_offer(pc, SyntheticAudio(), SyntheticVideo(320, 240))
            answer = await http.post(f"/whip/{lesson['id']}", content=offer,
                                     headers={"Content-Type": "application/sdp"})
            assert answer.status_code == 201
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer.text, type="answer"))
            [recording] = (await http.get(f"/api/recordings?lesson={lesson['id']}")).json()["recordings"]
            started = time.monotonic()
            await asyncio.sleep(RECORD_S)
            os.kill(process.pid, signal.SIGKILL)
            recorded_s = time.monotonic() - started
            process.wait(10)
    finally:
        await pc.close()
        if process.poll() is None:
            process.kill()

    [media] = list((data_dir / "recordings" / recording["id"]).glob("teacher.*"))
    assert recorded_until(media) > recorded_s - 2.5  # playable up to a couple of seconds before the kill

    process = serve(data_dir, port)
    try:
        await healthy(base, process)
        async with httpx.AsyncClient(base_url=base, headers=teacher) as http:
            after = (await http.get(f"/api/recordings/{recording['id']}")).json()
            assert after["status"] == "interrupted"
            for _ in range(200):  # salvage runs in the background after start-up
                if after["tracks"]:
                    break
                await asyncio.sleep(0.05)
                after = (await http.get(f"/api/recordings/{recording['id']}")).json()
            assert {(t["kind"], t["codec"]) for t in after["tracks"]} == {("video", "vp8"), ("audio", "opus")}
            video_url = next(t["url"] for t in after["tracks"] if t["kind"] == "video")
            ranged = await http.get(video_url, headers={"Range": "bytes=0-15"})
            assert ranged.status_code == 206 and len(ranged.content) == 16
    finally:
        process.terminate()
        process.wait(10)
    with av.open(str(media)) as salvaged:
        assert salvaged.duration is not None  # indexed now: a browser can seek in it
