"""Header parser of MP3 (MPEG-1, 2 and 2.5 Layer III), and its identification by frame sync.

The duration comes from a Xing/Info frame (less the LAME tag's encoder delay and padding) or a
VBRI frame when there is one; otherwise it is estimated from the first frame's bitrate and the
file size (exact for constant bitrate only).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace

from inspector.errors import CorruptHeader
from inspector.sniffing.id3 import audio_start
from inspector.sniffing.media import MediaInfo
from inspector.sniffing.reading import NeedMoreBytes, read_int


def is_mp3(head: bytes) -> bool:
    """ID3v2 tags, or an MPEG audio frame at 0 confirmed by the next frame header when that
    is in `head`: frame sync alone (11 set bits) turns up in much other data."""
    if head[:3] == b"ID3":
        return True
    frame = _mpeg_frame(head, 0)
    if frame is None:
        return False
    return frame.length + 4 > len(head) or _mpeg_frame(head, frame.length) is not None


@dataclass(frozen=True)
class _MpegFrame:
    version: int  # 1, 2 or 25 (MPEG 2.5)
    bitrate: int  # bits per second
    sample_rate: int
    channels: int
    length: int  # bytes, header included
    samples: int  # per frame


_MP3_BITRATES = {
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MPEG_RATES = {1: (44100, 48000, 32000), 2: (22050, 24000, 16000), 25: (11025, 12000, 8000)}
_MPEG_VERSIONS = {0: 25, 2: 2, 3: 1}


def _mpeg_frame(buf: bytes, pos: int) -> _MpegFrame | None:
    """The MPEG-1/2/2.5 Layer III frame header at `pos`, or None if there is none."""
    if pos + 4 > len(buf):
        return None
    word = read_int(">I", buf, pos)
    version = _MPEG_VERSIONS.get(word >> 19 & 3)
    layer, bitrate_index, rate_index = word >> 17 & 3, word >> 12 & 0xF, word >> 10 & 3
    if word >> 21 != 0x7FF or version is None or layer != 1:  # layer bits 01 = Layer III
        return None
    if bitrate_index in (0, 15) or rate_index == 3:  # free format, or reserved values
        return None
    bitrate = _MP3_BITRATES[1 if version == 1 else 2][bitrate_index] * 1000
    rate = _MPEG_RATES[version][rate_index]
    samples = 1152 if version == 1 else 576
    length = samples // 8 * bitrate // rate + (word >> 9 & 1)
    channels = 1 if word >> 6 & 3 == 3 else 2
    return _MpegFrame(version, bitrate, rate, channels, length, samples)


def parse_mp3(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    pos = audio_start(buf, size, "mp3")
    frame = _mpeg_frame(buf, pos)
    for _ in range(4096):  # encoders may pad between the tag and the first frame
        if frame is not None:
            break
        if pos + 4 > len(buf):
            raise NeedMoreBytes
        pos += 1
        frame = _mpeg_frame(buf, pos)
    if frame is None:
        raise CorruptHeader("mp3", "no MPEG audio frame follows the ID3 tag")
    return replace(
        info,
        duration_seconds=_mp3_duration(buf, size, pos, frame),
        sample_rate=frame.sample_rate,
        channels=frame.channels,
        codec="mp3",
    )


def _mp3_duration(buf: bytes, size: int, pos: int, frame: _MpegFrame) -> float:
    # The first frame may be a Xing/Info (LAME) or VBRI (Fraunhofer) frame counting them all.
    mono = frame.channels == 1
    side_info = (17 if mono else 32) if frame.version == 1 else (9 if mono else 17)
    xing = pos + 4 + side_info
    if buf[xing : xing + 4] in (b"Xing", b"Info") and len(buf) >= xing + 12:
        flags, frames = struct.unpack_from(">II", buf, xing + 4)
        if flags & 1:
            samples = frames * frame.samples - _lame_gap(buf, xing, flags)
            return max(samples, 0) / frame.sample_rate
    vbri = pos + 4 + 32
    if buf[vbri : vbri + 4] == b"VBRI" and len(buf) >= vbri + 18:
        (frames,) = struct.unpack_from(">I", buf, vbri + 14)
        return frames * frame.samples / frame.sample_rate
    return (size - pos) * 8 / frame.bitrate  # an estimate, exact for constant bitrate


def _lame_gap(buf: bytes, xing: int, flags: int) -> int:
    """Encoder delay + padding in samples, from the LAME tag after the Xing fields."""
    # The Xing fields present (frames, bytes, TOC, quality) decide where the LAME tag starts.
    lame = xing + 8 + 4 * (flags & 1) + 4 * (flags >> 1 & 1) + 100 * (flags >> 2 & 1)
    lame += 4 * (flags >> 3 & 1)
    if buf[lame : lame + 3] not in (b"LAM", b"Lav") or len(buf) < lame + 24:
        return 0  # no LAME tag (or one from an encoder we do not know): count whole frames
    packed = int.from_bytes(buf[lame + 21 : lame + 24], "big")  # 12-bit delay, 12-bit padding
    return (packed >> 12) + (packed & 0xFFF)
