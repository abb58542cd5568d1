"""Media of a recording over HTTP: Range requests (Starlette's FileResponse), downloads, caching."""

from __future__ import annotations

import dataclasses
import re

import httpx
import pytest
from starlette.applications import Starlette

from classroom.recordings import RecordingStatus, Track
from classroom.roles import Role
from tests.support.recordings import MEDIA_BYTES, recording, seed, write_media
from tests.support.tokens import Tokens

CAMERA = "/api/recordings/R1/media/teacher/camera"


@pytest.fixture
async def media(app: Starlette) -> bytes:
    _, files = await seed(app)
    return files["teacher/camera"]


async def test_whole_file_is_served_with_accept_ranges(client: httpx.AsyncClient, tokens: Tokens,
                                                       media: bytes) -> None:
    response = await client.get(CAMERA, headers=tokens.student(lesson="L1"))
    assert response.status_code == 200
    assert response.content == media
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-type"] == "video/webm"
    assert response.headers["content-length"] == str(MEDIA_BYTES)
    assert "content-disposition" not in response.headers
    assert response.headers["cache-control"] == "private, max-age=86400"


async def test_audio_track_gets_an_audio_type(client: httpx.AsyncClient, tokens: Tokens, media: bytes) -> None:
    response = await client.get("/api/recordings/R1/media/teacher/mic", headers=tokens.student(lesson="L1"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/webm"


@pytest.mark.parametrize(("header", "start", "end"), [
    ("bytes=0-0", 0, 0),
    ("bytes=0-99", 0, 99),
    ("bytes=1000-70000", 1000, 70000),  # crosses a 64 KiB chunk boundary
    ("bytes=299000-", 299000, MEDIA_BYTES - 1),
    ("bytes=299000-999999", 299000, MEDIA_BYTES - 1),  # end clamped to the last byte
    ("bytes=-500", MEDIA_BYTES - 500, MEDIA_BYTES - 1),  # suffix range
    ("bytes=-999999", 0, MEDIA_BYTES - 1),  # suffix longer than the file
])
async def test_single_range_is_206_with_exact_content_range(client: httpx.AsyncClient, tokens: Tokens,
                                                            media: bytes, header: str, start: int,
                                                            end: int) -> None:
    response = await client.get(CAMERA, headers={**tokens.student(lesson="L1"), "Range": header})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {start}-{end}/{MEDIA_BYTES}"
    assert response.headers["content-length"] == str(end - start + 1)
    assert response.content == media[start:end + 1]
    assert response.headers["accept-ranges"] == "bytes"


async def test_multiple_ranges_are_a_multipart_206(client: httpx.AsyncClient, tokens: Tokens, media: bytes) -> None:
    ranges = "bytes=0-9, 100000-100099, -20"
    response = await client.get(CAMERA, headers={**tokens.student(lesson="L1"), "Range": ranges})
    assert response.status_code == 206
    kind, _, boundary = response.headers["content-type"].partition("; boundary=")
    assert kind == "multipart/byteranges" and boundary
    assert response.headers["content-length"] == str(len(response.content))
    parts = response.content.split(f"--{boundary}".encode())
    assert parts[0] == b"" and parts[-1] == b"--"
    got = []
    for part in parts[1:-1]:
        head, _, body = part.partition(b"\r\n\r\n")
        match = re.search(rb"Content-Range: bytes (\d+)-(\d+)/(\d+)", head)
        assert match is not None and b"Content-Type: video/webm" in head
        start, end, total = (int(x) for x in match.groups())
        assert total == MEDIA_BYTES
        assert body.removesuffix(b"\r\n") == media[start:end + 1]
        got.append((start, end))
    assert got == [(0, 9), (100000, 100099), (MEDIA_BYTES - 20, MEDIA_BYTES - 1)]


async def test_overlapping_ranges_are_merged(client: httpx.AsyncClient, tokens: Tokens, media: bytes) -> None:
    response = await client.get(CAMERA, headers={**tokens.student(lesson="L1"), "Range": "bytes=0-99, 50-149"})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes 0-149/{MEDIA_BYTES}"
    assert response.content == media[:150]


@pytest.mark.parametrize("header", [f"bytes={MEDIA_BYTES}-", f"bytes={MEDIA_BYTES + 10}-{MEDIA_BYTES + 20}",
                                    "bytes=-0"])
async def test_unsatisfiable_range_is_416(client: httpx.AsyncClient, tokens: Tokens, media: bytes,
                                          header: str) -> None:
    response = await client.get(CAMERA, headers={**tokens.student(lesson="L1"), "Range": header})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{MEDIA_BYTES}"


async def test_malformed_range_is_400(client: httpx.AsyncClient, tokens: Tokens, media: bytes) -> None:
    response = await client.get(CAMERA, headers={**tokens.student(lesson="L1"), "Range": "pages=1-2"})
    assert response.status_code == 400


async def test_if_range_with_a_stale_validator_serves_the_whole_file(client: httpx.AsyncClient, tokens: Tokens,
                                                                     media: bytes) -> None:
    etag = (await client.head(CAMERA, headers=tokens.student(lesson="L1"))).headers["etag"]
    fresh = await client.get(CAMERA, headers={**tokens.student(lesson="L1"), "Range": "bytes=0-9", "If-Range": etag})
    assert fresh.status_code == 206 and fresh.content == media[:10]
    stale = await client.get(CAMERA, headers={**tokens.student(lesson="L1"), "Range": "bytes=0-9", "If-Range": '"old"'})
    assert stale.status_code == 200 and stale.content == media


async def test_head_gives_the_length_without_a_body(client: httpx.AsyncClient, tokens: Tokens, media: bytes) -> None:
    response = await client.head(CAMERA, headers=tokens.student(lesson="L1"))
    assert response.status_code == 200
    assert response.headers["content-length"] == str(MEDIA_BYTES) and response.content == b""


async def test_download_sets_an_attachment_disposition(client: httpx.AsyncClient, tokens: Tokens,
                                                       media: bytes) -> None:
    response = await client.get(CAMERA + "?download=1", headers=tokens.student(lesson="L1"))
    assert response.status_code == 200 and response.content == media
    assert response.headers["content-disposition"] == 'attachment; filename="Insert_moulding_R1-R1.webm"'
    ranged = await client.get(CAMERA + "?download=1", headers={**tokens.student(lesson="L1"), "Range": "bytes=10-19"})
    assert ranged.status_code == 206 and ranged.content == media[10:20]  # a resumable download


async def test_metadata_download_url_is_the_teacher_track(client: httpx.AsyncClient, tokens: Tokens,
                                                          media: bytes) -> None:
    meta = (await client.get("/api/recordings/R1", headers=tokens.student(lesson="L1"))).json()
    assert meta["download_url"].startswith(CAMERA + "?ticket=") and meta["download_url"].endswith("&download=1")
    response = await client.get(meta["download_url"])  # a plain link: the ticket is the credential
    assert response.content == media
    assert response.headers["content-disposition"].startswith("attachment;")


async def test_non_ascii_title_is_encoded_in_the_download_name(app: Starlette, client: httpx.AsyncClient,
                                                               tokens: Tokens) -> None:
    rec = dataclasses.replace(recording("R9"), title="注塑 / 模具")
    await seed(app, rec)
    response = await client.get("/api/recordings/R9/media/teacher/camera?download=1",
                                headers=tokens.student(lesson="L1"))
    assert response.headers["content-disposition"] == (
        "attachment; filename*=utf-8''%E6%B3%A8%E5%A1%91_%E6%A8%A1%E5%85%B7-R9.webm")


async def test_a_growing_recording_must_be_revalidated(app: Starlette, client: httpx.AsyncClient,
                                                       tokens: Tokens) -> None:
    await seed(app, recording("R2", ended_at=None, status=RecordingStatus.RECORDING))
    response = await client.get("/api/recordings/R2/media/teacher/camera", headers=tokens.student(lesson="L1"))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-cache"


async def test_token_in_query_parameter_works_for_video_elements(client: httpx.AsyncClient, tokens: Tokens,
                                                                 media: bytes) -> None:
    token = tokens.mint(Role.STUDENT, "li", lesson="L1")
    response = await client.get(f"{CAMERA}?access_token={token}", headers={"Range": "bytes=0-3"})
    assert response.status_code == 206 and response.content == media[:4]


@pytest.mark.parametrize(("path", "status"), [
    ("/api/recordings/R1/media/teacher/screen", 404),  # no such track
    ("/api/recordings/NOPE/media/teacher/camera", 404),
    (CAMERA + "?download=maybe", 400),
])
async def test_media_errors(client: httpx.AsyncClient, tokens: Tokens, media: bytes, path: str, status: int) -> None:
    response = await client.get(path, headers=tokens.student(lesson="L1"))
    assert response.status_code == status
    assert response.json()["error"]["message"]


async def test_missing_media_file_is_404(app: Starlette, client: httpx.AsyncClient, tokens: Tokens) -> None:
    await seed(app, recording("R3", status=RecordingStatus.INTERRUPTED), with_media=False)
    response = await client.get("/api/recordings/R3/media/teacher/camera", headers=tokens.student(lesson="L1"))
    assert response.status_code == 404


async def test_a_track_file_outside_the_recordings_directory_is_never_served(
    app: Starlette, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    outside = app.state.settings.data_dir / "classroom.db"
    assert outside.exists()
    evil = (Track("teacher/camera", "video", "vp8", "../classroom.db"),
            Track("teacher/mic", "audio", "opus", str(outside)))
    await seed(app, recording("R4", tracks=evil), with_media=False)
    write_media(app, "R4/unrelated.webm")
    for track in ("teacher/camera", "teacher/mic"):
        response = await client.get(f"/api/recordings/R4/media/{track}", headers=tokens.admin())
        assert response.status_code == 404
