"""Replay API: recordings' metadata, media with HTTP Range, timeline, training state at t, chapters.

    GET    /api/recordings?lesson=&course=&since=&until=     since/until: ISO 8601 or Unix seconds
    GET    /api/recordings/{id}                               metadata (duration, tracks, chapters, status)
    GET    /api/recordings/{id}/media/{track}[?download=1]    the track's file, Range-capable
    GET    /api/recordings/{id}/timeline?from=&to=[&kinds=]   events, seconds on the media clock
    GET    /api/recordings/{id}/state?t=                      training line at media time t
    POST   /api/recordings/{id}/chapters                      {"at_s", "title"} (the lesson's teacher)
    DELETE /api/recordings/{id}                               (an admin of the school)

Media is served by Starlette's FileResponse, which implements single, multiple (multipart/
byteranges) and suffix ranges, If-Range, 416 with ``Content-Range: bytes */size``, and
``Accept-Ranges: bytes``; a malformed Range header is a 400 there. Browsers' <video> cannot
send headers: ``GET /api/recordings/{id}`` gives each track's URL a recording-scoped media
ticket (``?ticket=``, server.edge.media_tickets), which opens that recording's media and nothing else.
A track that shares its file with another names it in ``muxed_with`` (the recorder muxes the
teacher's camera and microphone into one file: a player then plays that file alone).
"""

from __future__ import annotations

import math
import mimetypes
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from classroom.access import Claims
from classroom.lessons import MAX_ID_CHARS, MAX_NAME_CHARS
from classroom.recordings import Recording
from server.edge.errors import BadRequest
from server.edge.http_body import read_json_object
from server.edge.media_tickets import TICKET_PARAM, issue_ticket, verify_ticket
from server.edge.route_context import components, principal
from server.replay.timeline import TIMELINE_KINDS

__all__ = ["parse_instant", "routes"]

_CONTAINER_TYPES = {
    ".webm": ("video/webm", "audio/webm"),
    ".mkv": ("video/x-matroska", "audio/x-matroska"),
    ".mka": ("audio/x-matroska", "audio/x-matroska"),
    ".mp4": ("video/mp4", "audio/mp4"),
    ".m4a": ("audio/mp4", "audio/mp4"),
    ".ogg": ("video/ogg", "audio/ogg"),
    ".opus": ("audio/ogg", "audio/ogg"),
    ".ts": ("video/mp2t", "video/mp2t"),
}
_PLUS_OFFSET = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")
_FILENAME_UNSAFE = re.compile(r'[\s\x00-\x1f\x7f"\\/:*?<>|]+')  # and whitespace: keeps plain filename=""


# --- query parameters -----------------------------------------------------------------------


def parse_instant(name: str, text: str, *, end_of_day: bool = False) -> float:
    """Unix seconds from ``text``: a number of Unix seconds or an ISO 8601 date/date-time.

    A date-time without an offset is UTC; a bare date is its midnight UTC, or with
    ``end_of_day`` the last instant of that day (so ``until=2024-09-01`` includes the 1st).
    An unencoded ``+02:00`` offset arrives as `` 02:00`` (``+`` means a space in a query): accepted.
    """
    text = _PLUS_OFFSET.sub(r"\1+\2", text.strip())
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            raise BadRequest(f"{name} must be a finite number of Unix seconds or an ISO 8601 date")
        return seconds
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = date.fromisoformat(text)
            start = datetime.combine(day, time(), tzinfo=UTC)
            return (start + timedelta(days=1)).timestamp() - 1e-6 if end_of_day else start.timestamp()
        moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError):  # 9999-12-31 has no end of day
        raise BadRequest(f"{name} must be Unix seconds or an ISO 8601 date, e.g. 2024-09-01T08:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _seconds(request: Request, name: str, *, required: bool = False) -> float | None:
    text = request.query_params.get(name)
    if text is None or text.strip() == "":
        if required:
            raise BadRequest(f"{name} is required (seconds on the media clock)")
        return None
    try:
        value = float(text)
    except ValueError:
        raise BadRequest(f"{name} must be a number of seconds, got {text[:40]!r}") from None
    if not math.isfinite(value) or value < 0:
        raise BadRequest(f"{name} must be a finite, non-negative number of seconds")
    return value


def _text(request: Request, name: str, limit: int) -> str | None:
    text = request.query_params.get(name)
    if text is None:
        return None
    if not text.strip() or len(text) > limit:
        raise BadRequest(f"{name} must be 1 to {limit} characters")
    return text.strip()


def _flag(request: Request, name: str) -> bool:
    text = request.query_params.get(name, "0").strip().lower()
    if text in ("1", "true", "yes"):
        return True
    if text in ("0", "false", "no", ""):
        return False
    raise BadRequest(f"{name} must be 1 or 0")


def _kinds(request: Request) -> tuple[str, ...]:
    text = request.query_params.get("kinds")
    if text is None:
        return TIMELINE_KINDS
    kinds = tuple(dict.fromkeys(k.strip() for k in text.split(",") if k.strip()))
    unknown = [k for k in kinds if k not in TIMELINE_KINDS]
    if unknown or not kinds:
        raise BadRequest(f"kinds must be a comma-separated subset of {','.join(TIMELINE_KINDS)}")
    return kinds


# --- rendering ------------------------------------------------------------------------------


def _render(request: Request, recording: Recording, ticket: str | None = None) -> dict[str, Any]:
    """The recording's JSON; with ``ticket``, its media URLs carry it (for media elements)."""
    data = recording.to_json()
    query = "" if ticket is None else "?" + urlencode({TICKET_PARAM: ticket})
    for entry, track in zip(data["tracks"], recording.tracks, strict=True):
        entry["url"] = _media_path(request, recording.id, track.name) + query
        entry["muxed_with"] = next((other.name for other in recording.tracks
                                    if other.file == track.file and other.name != track.name), None)
    download = recording.download_track()
    data["download_url"] = None if download is None else (
        _media_path(request, recording.id, download.name) + (query + "&" if query else "?") + "download=1")
    return data


def _media_path(request: Request, recording_id: str, track: str) -> str:
    return str(request.url_for("recording_media", recording_id=recording_id, track=track).path)


def _media_type(path_suffix: str, kind: str) -> str:
    known = _CONTAINER_TYPES.get(path_suffix.lower())
    if known is not None:
        return known[1] if kind == "audio" else known[0]
    return mimetypes.guess_type("x" + path_suffix)[0] or "application/octet-stream"


def _download_name(recording: Recording, suffix: str) -> str:
    title = _FILENAME_UNSAFE.sub("_", recording.title).strip(" ._")[:80] or "recording"
    return f"{title}-{recording.id}{suffix}"


# --- handlers -------------------------------------------------------------------------------


async def list_recordings(request: Request) -> JSONResponse:
    claims = principal(request)
    since = request.query_params.get("since")
    until = request.query_params.get("until")
    since_at = None if since is None else parse_instant("since", since)
    until_at = None if until is None else parse_instant("until", until, end_of_day=True)
    if since_at is not None and until_at is not None and since_at > until_at:
        raise BadRequest("since must not be after until")
    found = await components(request).replay.list(
        claims,
        lesson_id=_text(request, "lesson", MAX_ID_CHARS),
        course=_text(request, "course", MAX_NAME_CHARS),
        since=since_at,
        until=until_at,
    )
    return JSONResponse({"recordings": [_render(request, recording) for recording in found]})


async def get_recording(request: Request) -> JSONResponse:
    claims = principal(request)
    recording = await components(request).replay.get(claims, request.path_params["recording_id"])
    ticket = issue_ticket(components(request).tokens, claims, recording.id, recording.lesson_id)
    return JSONResponse(_render(request, recording, ticket))


def _media_claims(request: Request) -> Claims:
    """A media ticket for this recording (``?ticket=``), else the caller's access token."""
    ticket = request.query_params.get(TICKET_PARAM)
    if ticket is None:
        return principal(request)
    return verify_ticket(components(request).tokens, ticket, request.path_params["recording_id"])


async def recording_media(request: Request) -> Response:
    claims = _media_claims(request)
    download = _flag(request, "download")
    params = request.path_params
    media = await components(request).replay.media(claims, params["recording_id"], params["track"])
    suffix = media.path.suffix
    # A finished file never changes: let the player cache it; a growing one must be revalidated.
    cache = "private, max-age=86400" if media.recording.status.is_final else "private, no-cache"
    return FileResponse(
        media.path,
        stat_result=media.stat,
        media_type=_media_type(suffix, media.track.kind),
        filename=_download_name(media.recording, suffix) if download else None,
        headers={"Cache-Control": cache},
    )


async def recording_timeline(request: Request) -> JSONResponse:
    claims = principal(request)
    from_s = _seconds(request, "from") or 0.0
    to_s = _seconds(request, "to")
    if to_s is not None and from_s > to_s:
        raise BadRequest("from must not be after to")
    kinds = _kinds(request)
    recording, events, truncated = await components(request).replay.events(
        claims, request.path_params["recording_id"], from_s, to_s, kinds)
    return JSONResponse({
        "recording": recording.id,
        "from": from_s,
        "to": to_s if to_s is not None else recording.duration_s,
        "events": [event.to_json() for event in events],
        "truncated": truncated,
    })


async def recording_state(request: Request) -> JSONResponse:
    claims = principal(request)
    t = _seconds(request, "t", required=True)
    assert t is not None
    state = await components(request).replay.state(claims, request.path_params["recording_id"], t)
    return JSONResponse(state.to_json())


async def add_chapter(request: Request) -> JSONResponse:
    claims = principal(request)
    body = await read_json_object(request)
    recording = await components(request).replay.add_chapter(claims, request.path_params["recording_id"], body)
    return JSONResponse({"chapters": [c.to_json() for c in recording.chapters]}, status_code=201)


async def delete_recording(request: Request) -> Response:
    await components(request).replay.delete(principal(request), request.path_params["recording_id"])
    return Response(status_code=204)


routes: list[BaseRoute] = [
    Route("/api/recordings", list_recordings, methods=["GET"], name="list_recordings"),
    Route("/api/recordings/{recording_id}", get_recording, methods=["GET"], name="get_recording"),
    Route("/api/recordings/{recording_id}", delete_recording, methods=["DELETE"], name="delete_recording"),
    Route("/api/recordings/{recording_id}/media/{track:path}", recording_media, methods=["GET"],
          name="recording_media"),
    Route("/api/recordings/{recording_id}/timeline", recording_timeline, methods=["GET"], name="recording_timeline"),
    Route("/api/recordings/{recording_id}/state", recording_state, methods=["GET"], name="recording_state"),
    Route("/api/recordings/{recording_id}/chapters", add_chapter, methods=["POST"], name="add_recording_chapter"),
]
