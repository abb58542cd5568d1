"""Baseline for the relay benchmark: WHIP/WHEP on aiortc's MediaRelay, as its examples do it.

The server's peer connection receives (and decodes) the teacher's tracks once;
every WHEP subscriber gets ``relay.subscribe(track)`` added with ``addTrack``,
so aiortc re-encodes VP8 and Opus separately for each subscriber. No auth.

    python bench/relay_baseline.py --host 127.0.0.1 --port 8099
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator

import uvicorn
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

relay = MediaRelay()
tracks: dict[str, dict[str, MediaStreamTrack]] = {}  # lesson -> kind -> remote track
sessions: dict[str, RTCPeerConnection] = {}


def _pc() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


async def _answer(pc: RTCPeerConnection) -> str:
    await pc.setLocalDescription(await pc.createAnswer())
    return pc.localDescription.sdp


def _created(kind: str, lesson: str, sid: str, sdp: str) -> Response:
    return Response(sdp, status_code=201, media_type="application/sdp",
                    headers={"Location": f"/{kind}/{lesson}/{sid}"})


async def whip(request: Request) -> Response:
    lesson = request.path_params["lesson_id"]
    offer = (await request.body()).decode()
    pc = _pc()
    lesson_tracks = tracks.setdefault(lesson, {})

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        lesson_tracks[track.kind] = track

    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
    sid = secrets.token_hex(8)
    sessions[sid] = pc
    return _created("whip", lesson, sid, await _answer(pc))


async def whep(request: Request) -> Response:
    lesson = request.path_params["lesson_id"]
    offer = (await request.body()).decode()
    lesson_tracks = tracks.get(lesson)
    if not lesson_tracks:
        return Response("no publisher", status_code=404)
    pc = _pc()
    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
    for kind in ("audio", "video"):
        track = lesson_tracks.get(kind)
        if track is not None:
            pc.addTrack(relay.subscribe(track))
    sid = secrets.token_hex(8)
    sessions[sid] = pc
    return _created("whep", lesson, sid, await _answer(pc))


async def end(request: Request) -> Response:
    pc = sessions.pop(request.path_params["session_id"], None)
    if pc is None:
        return Response(status_code=404)
    await pc.close()
    return Response(status_code=200)


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "sessions": len(sessions)})


async def preflight(request: Request) -> Response:
    return Response(status_code=204)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    await asyncio.gather(*(pc.close() for pc in sessions.values()), return_exceptions=True)
    sessions.clear()


app = Starlette(routes=[
    Route("/api/health", health),
    Route("/whip/{lesson_id}", whip, methods=["POST"]),
    Route("/whep/{lesson_id}", whep, methods=["POST"]),
    Route("/whip/{lesson_id}", preflight, methods=["OPTIONS"]),
    Route("/whep/{lesson_id}", preflight, methods=["OPTIONS"]),
    Route("/whip/{lesson_id}/{session_id}", end, methods=["DELETE"]),
    Route("/whep/{lesson_id}/{session_id}", end, methods=["DELETE"]),
], lifespan=lifespan)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=5)


if __name__ == "__main__":
    main()
