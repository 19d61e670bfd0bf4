"""Header parser of Ogg Vorbis and Ogg Opus.

Ogg keeps no length in its headers: the duration comes from the granule position of the last
page, in `tail` (the file's last bytes); without it the duration is 0, not known.
"""

from __future__ import annotations

import struct
from dataclasses import replace

from inspector.errors import CorruptHeader, UnsupportedEncoding
from inspector.sniffing.audio import check_audio
from inspector.sniffing.media import MediaInfo
from inspector.sniffing.reading import MAX_STEPS, read_bytes, unpack

TAIL_BYTES = 65536
"""An Ogg page is at most 65307 bytes, so the last 64 KiB always hold the last page's header."""

_OGG_OTHER_CODECS = {
    b"\x7fFLAC": "FLAC", b"Speex   ": "Speex", b"\x80theora": "Theora video",
    b"\x01video\x00\x00\x00": "video", b"OpusTags": "Opus comments",
}  # fmt: skip


def parse_ogg(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    version, _, _, serial, _, _, segments = unpack("<BBqIIIB", buf, 4)
    if version != 0:
        raise CorruptHeader("ogg", f"the first page has version {version}")
    packet = 27 + segments  # the identification header is alone on the first page
    if read_bytes(buf, packet, 7) == b"\x01vorbis":
        channels, rate = unpack("<BI", buf, packet + 11)
        codec, granule_rate, pre_skip = "vorbis", rate, 0
    elif read_bytes(buf, packet, 8) == b"OpusHead":
        opus_version, channels, pre_skip = unpack("<BBH", buf, packet + 8)
        if opus_version >> 4 != 0:
            raise UnsupportedEncoding("ogg", f"Opus header version {opus_version}")
        # Opus always decodes, and counts granules, at 48 kHz whatever the input rate was.
        codec, rate, granule_rate = "opus", 48000, 48000
    else:
        first = buf[packet : packet + 9]
        name = next((v for k, v in _OGG_OTHER_CODECS.items() if first.startswith(k)), "")
        raise UnsupportedEncoding(
            "ogg", f"the Ogg stream holds {name or 'an unknown codec'}, not Vorbis or Opus"
        )
    check_audio("ogg", channels, rate)
    last = _last_granule(tail or (buf if len(buf) >= size else b""), serial)
    duration = max(last - pre_skip, 0) / granule_rate if last is not None else 0.0
    return replace(
        info,
        duration_seconds=duration,
        duration_known=last is not None,
        sample_rate=rate,
        channels=channels,
        codec=codec,
    )


def _last_granule(data: bytes, serial: int) -> int | None:
    """The granule position of the last page of stream `serial` that ends a packet."""
    pos = data.rfind(b"OggS")
    for _ in range(MAX_STEPS):
        if pos < 0:
            return None
        if pos + 18 <= len(data):
            version, _, granule, page_serial = struct.unpack_from("<BBqI", data, pos + 4)
            # -1 means no packet ends on this page; the serial guards against "OggS"
            # appearing by chance inside packet data.
            if version == 0 and page_serial == serial and granule >= 0:
                return int(granule)
        pos = data.rfind(b"OggS", 0, pos)
    return None
