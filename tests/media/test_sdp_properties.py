"""Property tests for remote session descriptions: ``check_description`` refuses any text and any
mutation of a real aiortc offer it cannot vouch for with a plain ``SdpError`` (no Python error text),
and accepts the real offer; through the WHIP route, mutated or non-UTF-8 offers are a plain 400 or
a 201, never a 500."""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from aiortc import RTCPeerConnection
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from media import SdpError, check_description
from media.sdp_check import MAX_SECTIONS
from tests.support.peers import SyntheticAudio, SyntheticVideo, publisher_offer
from tests.support.tokens import Tokens

BOUNDED = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PYTHON_TEXT = re.compile(r"[A-Za-z]*(Error|Exception)\b|NoneType|has no attribute|Traceback|not in list|"
                         r"invalid literal|unpack|object is not|Exceeds the limit|int\(\)")
REQUIRED = ["a=ice-ufrag", "a=ice-pwd", "a=fingerprint", "a=setup"]


async def _offer() -> str:
    pc = RTCPeerConnection()
    try:
        return await publisher_offer(pc, SyntheticAudio(), SyntheticVideo(320, 240, fps=15))
    finally:
        await pc.close()


@functools.cache
def real_offer() -> str:
    """One real aiortc publisher offer (audio and video), made once for the pure properties."""
    return asyncio.run(_offer())


def accepted_or_refused_plainly(sdp: str) -> SdpError | None:
    try:
        check_description(sdp, "offer")
    except SdpError as exc:
        message = str(exc)
        assert message and len(message) < 200 and not PYTHON_TEXT.search(message), message
        return exc
    return None


# --- mutations of a real offer --------------------------------------------------------------------

garbage_lines = st.one_of(
    st.text(max_size=60),
    st.builds("m={}".format, st.text(max_size=40)),
    st.builds("m=video 9 UDP/TLS/RTP/SAVPF {}".format, st.sampled_from(
        ["²", "٣", "𝟗", "9" * 5000, "128", "-1", "96 " * 200, "96  97", "\x00", "1e3", "0x60"])),
    st.builds("m=audio {} UDP/TLS/RTP/SAVPF 111".format, st.sampled_from(["99999", "9" * 5000, "-9", "²"])),
    st.sampled_from(["a=setup:holdconn", "a=fingerprint:sha-256", "a=fingerprint:", "a=ice-ufrag:", "a=",
                     "a=setup", "v=1", "\ud800", "x" * 200_000, "a=" + "x" * 70_000]),
)


@st.composite
def mutated_offers(draw: st.DrawFn, offer: str) -> str:
    """``offer`` with one to three of: a line dropped, a line replaced or inserted, the line breaks
    changed, the sections repeated."""
    lines = offer.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "replace", "insert", "repeat"]))
        if action == "drop":
            del lines[index]
        elif action == "replace":
            lines[index] = draw(garbage_lines)
        elif action == "insert":
            lines.insert(index, draw(garbage_lines))
        else:
            first = next((i for i, line in enumerate(lines) if line.startswith("m=")), len(lines))
            lines += lines[first:] * draw(st.sampled_from([1, MAX_SECTIONS]))
        if not lines:
            lines = [""]
    return draw(st.sampled_from(["\r\n", "\n", "\r"])).join(lines) + "\r\n"


def test_a_real_offer_is_accepted() -> None:
    assert accepted_or_refused_plainly(real_offer()) is None
    assert accepted_or_refused_plainly(real_offer().replace("\r\n", "\n")) is None


@BOUNDED
@given(text=st.text(max_size=300))
@example(text="v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF ²\r\n")
def test_any_text_is_accepted_or_refused_with_a_plain_sdp_error(text: str) -> None:
    accepted_or_refused_plainly(text)


def test_a_format_of_unicode_digits_or_thousands_of_digits_is_refused_plainly() -> None:
    m_line = next(line for line in real_offer().splitlines() if line.startswith("m=video"))
    for formats in ("²", "٣", "𝟗", "9" * 5000):
        sdp = real_offer().replace(m_line, m_line.rsplit(" ", 1)[0] + " " + formats)
        assert accepted_or_refused_plainly(sdp) is not None, formats


@BOUNDED
@given(sdp=st.deferred(lambda: mutated_offers(real_offer())))
def test_a_mutated_real_offer_is_accepted_or_refused_with_a_plain_sdp_error(sdp: str) -> None:
    accepted_or_refused_plainly(sdp)


@BOUNDED
@given(drop=st.lists(st.sampled_from(REQUIRED), min_size=1, unique=True), keep_one=st.booleans(),
       data=st.data())
def test_an_offer_without_its_ice_credentials_fingerprint_or_setup_is_refused(
        drop: list[str], keep_one: bool, data: st.DataObject) -> None:
    """Dropped from every section it is refused; dropped from one section only, it is still refused
    (each section needs its own, or one at the session level)."""
    lines = real_offer().splitlines()
    doomed = [i for i, line in enumerate(lines) if line.startswith(tuple(drop))]
    if keep_one:  # keep the attribute in one of the two sections: the other one lacks it
        doomed.remove(data.draw(st.sampled_from(doomed)))
    sdp = "\r\n".join(line for i, line in enumerate(lines) if i not in doomed) + "\r\n"

    refused = accepted_or_refused_plainly(sdp)

    assert refused is not None and "lacks" in str(refused)


# --- through the WHIP route -----------------------------------------------------------------------

def bodies(offer: str) -> st.SearchStrategy[bytes]:
    raw = offer.encode()
    return st.one_of(
        st.sampled_from([raw, offer.replace("\r\n", "\n").encode()]),
        mutated_offers(offer).map(lambda sdp: sdp.encode("utf-8", "surrogatepass")),
        st.builds(lambda at, junk: raw[:at] + junk + raw[at:], st.integers(0, len(raw)), st.binary(min_size=1,
                                                                                                      max_size=4)),
        st.binary(max_size=200).map(lambda junk: b"v=0\r\n" + junk),
        st.sampled_from([b"v=0\r\n\xff\xfe", b"\xc3\x28v=0", b"v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF \xb2\r\n"]),
    )


@pytest.fixture
async def offer() -> AsyncIterator[str]:
    pc = RTCPeerConnection()
    yield await publisher_offer(pc, SyntheticAudio(), SyntheticVideo(320, 240, fps=15))
    await pc.close()


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
@pytest.mark.timeout(90)
async def test_whip_answers_a_mangled_offer_with_a_plain_400_or_a_201_never_a_500(
        client: httpx.AsyncClient, tokens: Tokens, offer: str, data: st.DataObject) -> None:
    body = data.draw(bodies(offer))
    response = await client.post("/api/lessons", json={"title": "Mould design"}, headers=tokens.teacher())
    lesson = response.json()["id"]

    response = await client.post(f"/whip/{lesson}", content=body,
                                 headers={**tokens.teacher(), "Content-Type": "application/sdp"})

    event(f"status {response.status_code}")
    assert response.status_code in (201, 400, 413), response.text  # 413: a body past MAX_SDP_BYTES
    if response.status_code == 201:  # give the session back: every example publishes as the same teacher
        ended = await client.delete(response.headers["location"], headers=tokens.teacher())
        assert ended.status_code == 200
    else:
        message = response.json()["error"]["message"]
        assert not PYTHON_TEXT.search(message), message


async def test_whip_refuses_an_offer_with_a_unicode_digit_payload_type_with_400_not_500(
        client: httpx.AsyncClient, tokens: Tokens, offer: str) -> None:
    """Found by the properties above: '²'.isdigit() is true and int('²') a ValueError (a 500 before)."""
    response = await client.post("/api/lessons", json={"title": "Mould design"}, headers=tokens.teacher())
    m_line = next(line for line in offer.splitlines() if line.startswith("m=video"))
    body = offer.replace(m_line, m_line + " ²").encode()

    response = await client.post(f"/whip/{response.json()['id']}", content=body,
                                 headers={**tokens.teacher(), "Content-Type": "application/sdp"})

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "media section 2: RTP formats must be payload type numbers 0-127"


def test_an_offer_whose_bundle_names_a_missing_section_first_is_refused_plainly() -> None:
    """Its m=video line dropped, the video attributes join the audio section, whose a=mid becomes "1":
    aiortc would leave that section without a transport (the falsifying example of the WHIP property)."""
    lines = real_offer().splitlines()
    mangled = "\r\n".join(line for line in lines if not line.startswith("m=video")) + "\r\n"
    error = accepted_or_refused_plainly(mangled)
    assert error is not None and "BUNDLE" in str(error)
    assert accepted_or_refused_plainly(real_offer()) is None
