"""Picture size from encoded keyframes, without decoding (pure).

VP8: RFC 6386 section 9.1 (3-byte frame tag, start code 9d 01 2a, 14-bit
width and height, little-endian). H.264: the sequence parameter set (ITU-T
H.264 section 7.3.2.1.1) of an Annex B access unit.
"""

from __future__ import annotations

__all__ = ["MAX_DIMENSION", "h264_dimensions", "picture_size", "vp8_dimensions"]

MAX_DIMENSION = 16384  # VP8's 14-bit field; far beyond any H.264 level's picture


def vp8_dimensions(frame: bytes) -> tuple[int, int] | None:
    """(width, height) of a VP8 keyframe, or None if ``frame`` is not one."""
    if len(frame) < 10 or frame[0] & 0x01 or frame[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(frame[6:8], "little") & 0x3FFF
    height = int.from_bytes(frame[8:10], "little") & 0x3FFF
    return (width, height) if width and height else None


class _Bits:
    def __init__(self, data: bytes) -> None:
        self._data, self._pos = data, 0

    def bit(self) -> int:
        byte = self._data[self._pos >> 3]  # IndexError past the end: the caller treats it as malformed
        value = (byte >> (7 - (self._pos & 7))) & 1
        self._pos += 1
        return value

    def bits(self, count: int) -> int:
        value = 0
        for _ in range(count):
            value = (value << 1) | self.bit()
        return value

    def ue(self) -> int:
        zeros = 0
        while self.bit() == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("bad exp-Golomb code")
        return (1 << zeros) - 1 + self.bits(zeros)

    def se(self) -> int:
        value = self.ue()
        return (value + 1) // 2 if value & 1 else -(value // 2)


def _unescape(nal: bytes) -> bytes:
    return nal.replace(b"\x00\x00\x03", b"\x00\x00")


def _skip_scaling_list(bits: _Bits, size: int) -> None:
    last = next_ = 8
    for _ in range(size):
        if next_:
            next_ = (last + bits.se()) % 256
        last = next_ or last


_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})


def _sps_dimensions(sps: bytes) -> tuple[int, int]:
    bits = _Bits(_unescape(sps[1:]))
    profile = bits.bits(8)
    bits.bits(16)  # constraint flags, level
    bits.ue()  # seq_parameter_set_id
    chroma = 1
    if profile in _HIGH_PROFILES:
        chroma = bits.ue()
        if chroma == 3:
            bits.bit()  # separate_colour_plane_flag
        bits.ue()
        bits.ue()  # bit depths
        bits.bit()  # qpprime_y_zero_transform_bypass_flag
        if bits.bit():  # seq_scaling_matrix_present_flag
            for i in range(8 if chroma != 3 else 12):
                if bits.bit():
                    _skip_scaling_list(bits, 16 if i < 6 else 64)
    bits.ue()  # log2_max_frame_num_minus4
    poc_type = bits.ue()
    if poc_type == 0:
        bits.ue()
    elif poc_type == 1:
        bits.bit()
        bits.se()
        bits.se()
        for _ in range(bits.ue()):
            bits.se()
    bits.ue()  # max_num_ref_frames
    bits.bit()  # gaps_in_frame_num_value_allowed_flag
    width_mbs, height_units = bits.ue() + 1, bits.ue() + 1
    frame_mbs_only = bits.bit()
    if not frame_mbs_only:
        bits.bit()
    bits.bit()  # direct_8x8_inference_flag
    width, height = width_mbs * 16, height_units * 16 * (2 - frame_mbs_only)
    if bits.bit():  # frame_cropping_flag
        left, right, top, bottom = bits.ue(), bits.ue(), bits.ue(), bits.ue()
        crop_x = 2 if chroma in (1, 2) else 1
        crop_y = (2 if chroma == 1 else 1) * (2 - frame_mbs_only)
        width -= (left + right) * crop_x
        height -= (top + bottom) * crop_y
    return width, height


def h264_dimensions(access_unit: bytes) -> tuple[int, int] | None:
    """(width, height) from the first SPS of an Annex B access unit, or None."""
    for nal in access_unit.split(b"\x00\x00\x01"):
        nal = nal.rstrip(b"\x00")
        if nal and nal[0] & 0x1F == 7:
            try:
                width, height = _sps_dimensions(nal)
            except (IndexError, ValueError):
                return None
            return (width, height) if 0 < width <= MAX_DIMENSION and 0 < height <= MAX_DIMENSION else None
    return None


def picture_size(codec: str, keyframe: bytes) -> tuple[int, int] | None:
    """Picture size of a keyframe of ``codec`` ("vp8" or "h264")."""
    if codec == "vp8":
        return vp8_dimensions(keyframe)
    if codec == "h264":
        return h264_dimensions(keyframe)
    return None
