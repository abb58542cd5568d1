"""A remote session description checked before aiortc sees it (pure: no socket, no aiortc).

aiortc applies what it is given and fails late, with Python errors (``'NoneType' object
has no attribute 'role'`` for a missing ``a=setup``) or not at all (an offer without ICE
credentials or a DTLS fingerprint is answered, and its connection can never come up).
``check_description`` refuses such a description up front with a plain ``SdpError``
message, and bounds what aiortc's parser will be asked to do (size, lines, sections,
formats per section).

Rules (RFC 8866 lines, RFC 8839 ICE, RFC 8842 DTLS): the first line is ``v=0``; there is at
least one ``m=`` section and every one names its formats; ``a=ice-ufrag``, ``a=ice-pwd``,
``a=fingerprint`` and ``a=setup`` are present for every section (at its level or at the
session level); the setup role is ``actpass``, ``active`` or ``passive`` in an offer and
``active`` or ``passive`` in an answer; a ``BUNDLE`` group's first identification tag (the
transport the others share, RFC 8843) is the ``a=mid`` of one of its sections (aiortc would
otherwise leave the bundled sections without a transport and fail on answering and closing).
"""

from __future__ import annotations

import re
from typing import Literal

from .errors import SdpError

__all__ = ["MAX_FORMATS", "MAX_LINES", "MAX_SDP_CHARS", "MAX_SECTIONS", "check_description"]

MAX_SDP_CHARS = 128 * 1024
MAX_LINES = 4096
MAX_SECTIONS = 32
MAX_FORMATS = 128  # formats listed on one m= line (RTP payload types are 0..127)

_MEDIA_LINE = re.compile(r"m=([a-z]+) ([0-9]{1,5})(?:/[0-9]{1,5})? ([A-Za-z/]+) ([^ ]+(?: [^ ]+)*)")
_DIGITS = re.compile(r"[0-9]{1,3}")  # ASCII only: str.isdigit() also takes '²', which int() refuses
_REQUIRED = {"ice-ufrag": "an ICE username fragment (a=ice-ufrag)",
             "ice-pwd": "an ICE password (a=ice-pwd)",
             "fingerprint": "a DTLS fingerprint (a=fingerprint)",
             "setup": "a DTLS role (a=setup)"}
_SETUP_ROLES = {"offer": frozenset({"actpass", "active", "passive"}), "answer": frozenset({"active", "passive"})}


def check_description(sdp: str, kind: Literal["offer", "answer"]) -> None:
    """Raise ``SdpError`` unless ``sdp`` is an ``offer`` or ``answer`` this server can apply."""
    if len(sdp) > MAX_SDP_CHARS:
        raise SdpError(f"the SDP is larger than {MAX_SDP_CHARS // 1024} KiB")
    lines = sdp.splitlines()
    if len(lines) > MAX_LINES:
        raise SdpError(f"the SDP has more than {MAX_LINES} lines")
    if not lines or lines[0].strip() != "v=0":
        raise SdpError("the SDP must start with the line v=0")
    session, sections = _split(lines)
    if not sections:
        raise SdpError("the SDP has no media section (m= line)")
    if len(sections) > MAX_SECTIONS:
        raise SdpError(f"the SDP has more than {MAX_SECTIONS} media sections")
    defaults = _attributes(session)
    for index, section in enumerate(sections):
        _check_section(index, section, defaults, kind)
    _check_bundle(session, sections)


def _split(lines: list[str]) -> tuple[list[str], list[list[str]]]:
    session: list[str] = []
    sections: list[list[str]] = []
    for line in lines:
        if line.startswith("m="):
            sections.append([line])
        elif sections:
            sections[-1].append(line)
        else:
            session.append(line)
    return session, sections


def _attributes(lines: list[str]) -> dict[str, str]:
    """The last value of each ``a=name:value`` (or flag ``a=name``) attribute, as aiortc reads them."""
    found: dict[str, str] = {}
    for line in lines:
        if line.startswith("a="):
            name, _, value = line[2:].strip().partition(":")
            found[name] = value.strip()
    return found


def _check_section(index: int, section: list[str], defaults: dict[str, str], kind: str) -> None:
    where = f"media section {index + 1}"
    match = _MEDIA_LINE.fullmatch(section[0].strip())
    if match is None:
        raise SdpError(f"{where}: the m= line is malformed")
    if len(match.group(4).split(" ")) > MAX_FORMATS:
        raise SdpError(f"{where}: more than {MAX_FORMATS} formats")
    if match.group(1) in ("audio", "video") and not all(
            _DIGITS.fullmatch(f) and int(f) < 128 for f in match.group(4).split()):
        raise SdpError(f"{where}: RTP formats must be payload type numbers 0-127")
    attributes = {**defaults, **_attributes(section[1:])}
    for name, meaning in _REQUIRED.items():
        if not attributes.get(name):
            raise SdpError(f"{where} lacks {meaning}")
    if len(attributes["fingerprint"].split()) != 2:
        raise SdpError(f"{where}: the fingerprint must be 'algorithm value'")
    if attributes["setup"] not in _SETUP_ROLES[kind]:
        allowed = ", ".join(sorted(_SETUP_ROLES[kind]))
        raise SdpError(f"{where}: a=setup must be one of {allowed} in an {kind}")


def _check_bundle(session: list[str], sections: list[list[str]]) -> None:
    mids = {_attributes(section[1:]).get("mid") for section in sections}
    for line in session:
        semantic, _, tags = line.strip().removeprefix("a=group:").partition(" ")
        if line.startswith("a=group:") and semantic == "BUNDLE" and tags.split() and tags.split()[0] not in mids:
            raise SdpError(f"the BUNDLE group's first tag {tags.split()[0]!r} is the a=mid of no media section")
