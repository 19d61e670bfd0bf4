"""Header parser of AMR and AMR-WB in their storage format (RFC 4867, section 5): a magic line
(`#!AMR\\n`, `#!AMR-WB\\n`), then speech frames of 20 ms, each a header byte (its frame type
says the frame's size) and the frame's bits. AMR is 8 kHz mono, AMR-WB 16 kHz mono; the
multichannel variants (`#!AMR_MC1.0\\n`, `#!AMR-WB_MC1.0\\n`) are refused.

Nothing in the file says how long it is. When the whole file is in the bytes read, every
frame is counted; otherwise the duration is an estimate from the mean frame size in the head
(a recorder keeps one mode, so the frames are all the same size). The encoder's priming (50
samples for opencore-amr) is inside the frames, and decoders output it.
"""

from __future__ import annotations

from dataclasses import replace

from mediakit.audio_containers import AMR_NB_MAGIC, AMR_NB_MC_MAGIC, AMR_WB_MAGIC, AMR_WB_MC_MAGIC

from inspector.errors import CorruptHeader, UnsupportedEncoding
from inspector.sniffing.media import MediaInfo
from inspector.sniffing.reading import MAX_STEPS, NeedMoreBytes, read_int

FRAME_SECONDS = 0.02
# Bytes of a frame, header included, by frame type (3GPP TS 26.101 and 26.201 give the bits;
# the same tables as FFmpeg's amr demuxer): speech modes, SID (comfort noise), then the types
# that carry no speech (NO_DATA, 15, is the header alone).
_NB_FRAME_BYTES = (13, 14, 16, 18, 20, 21, 27, 32, 6, 1, 1, 1, 1, 1, 1, 1)
_WB_FRAME_BYTES = (18, 24, 33, 37, 41, 47, 51, 59, 61, 6, 1, 1, 1, 1, 1, 1)


def parse_amr(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    wideband = info.format == "amr-wb"
    magic = AMR_WB_MAGIC if wideband else AMR_NB_MAGIC
    if not buf.startswith(magic):
        name = (AMR_WB_MC_MAGIC if wideband else AMR_NB_MC_MAGIC).decode("latin-1").strip()
        raise UnsupportedEncoding(info.format, f"multichannel AMR ({name}) is not supported")
    frame_bytes = _WB_FRAME_BYTES if wideband else _NB_FRAME_BYTES
    frames_end, frames, whole = _walk_frames(buf, size, len(magic), frame_bytes, info.format)
    if not whole:  # the head's mean frame size for the rest of the file: an estimate
        frames = round(frames * (size - len(magic)) / (frames_end - len(magic)))
    return replace(
        info,
        duration_seconds=frames * FRAME_SECONDS,
        sample_rate=16000 if wideband else 8000,
        channels=1,
        codec="amr-wb" if wideband else "amr-nb",
    )


def _walk_frames(
    buf: bytes, size: int, start: int, frame_bytes: tuple[int, ...], fmt: str
) -> tuple[int, int, bool]:
    """(where the last whole frame in `buf` ends, frames up to there, whether that is the end
    of the file)."""
    pos, frames = start, 0
    for _ in range(MAX_STEPS * 4):  # 4 KiB of frames at least, wherever the head ends
        if pos >= size:
            return pos, frames, True
        if pos >= len(buf):
            break
        header = read_int("B", buf, pos)
        if header & 0x83:  # the padding bits around frame type and quality must be 0
            raise CorruptHeader(fmt, f"byte {pos} is not a frame header (damaged data)")
        length = frame_bytes[header >> 3 & 0x0F]
        if pos + length > size:
            raise CorruptHeader(
                fmt, f"the file ends inside the frame at byte {pos} (it looks truncated)"
            )
        if pos + length > len(buf):
            break
        frames += 1
        pos += length
    if pos == start:
        raise NeedMoreBytes
    return pos, frames, False
