"""Header parser of raw AAC in ADTS frames (ISO/IEC 14496-3, 1.A.2.2), as some recorders
stream it: each frame has a 7-byte header (9 with a CRC) giving the profile, rate index,
channel configuration and the frame's length, and holds 1 to 4 raw blocks of 1024 samples.

Nothing in the stream says how long it is. When the whole file is in the bytes read, every
frame is counted; otherwise the duration is an estimate, the file's size over the mean frame
size in the head (exact for constant bitrate, as mp3.py's estimate without a Xing frame).
Either way it includes the encoder's priming (1024 samples for FFmpeg's encoder), which ADTS
has no field to mark and decoders output.

HE-AAC in ADTS is signalled implicitly: the header says AAC-LC at the core rate, and that is
what is reported (see mpeg4_audio.py).
"""

from __future__ import annotations

from dataclasses import replace

from mediakit.audio_containers import adts_frame_length

from inspector.errors import CorruptHeader
from inspector.sniffing.audio import check_audio
from inspector.sniffing.id3 import audio_start
from inspector.sniffing.media import MediaInfo
from inspector.sniffing.mpeg4_audio import SAMPLES_PER_FRAME, aac_channels, aac_codec, aac_rate
from inspector.sniffing.reading import MAX_STEPS, NeedMoreBytes, read_bytes, read_int

_TRAILING_TAGS = (b"TAG", b"APETAGEX")  # ID3v1 and APE tags that taggers append


def parse_adts(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    start = audio_start(buf, size, "aac")
    header = read_bytes(buf, start, 7)
    if not adts_frame_length(header, 0):
        raise CorruptHeader("aac", f"no ADTS frame header at byte {start}")
    rate_index = header[2] >> 2 & 0x0F
    rate = aac_rate(rate_index, "aac")
    channels = aac_channels((header[2] & 0x01) << 2 | header[3] >> 6, "aac")
    codec = aac_codec((header[2] >> 6) + 1, "aac")  # the profile is the object type less 1
    if channels:  # 0: a program config element in the stream says; decoders read it there
        check_audio("aac", channels, rate)
    frames_end, blocks, whole = _walk_frames(buf, size, start, rate_index)
    samples = blocks * SAMPLES_PER_FRAME
    if not whole:  # the head's mean frame size for the rest of the file: an estimate
        samples = round(samples * (size - start) / (frames_end - start))
    return replace(
        info,
        duration_seconds=samples / rate,
        sample_rate=rate,
        channels=channels,
        codec=codec,
    )


def _walk_frames(buf: bytes, size: int, start: int, rate_index: int) -> tuple[int, int, bool]:
    """(where the last whole frame in `buf` ends, raw blocks up to there, whether that is the
    end of the audio) over consecutive frames, each of the first one's rate."""
    pos, blocks = start, 0
    for _ in range(MAX_STEPS):
        if pos >= size or buf[pos : pos + 8].startswith(_TRAILING_TAGS):
            return pos, blocks, True
        if pos + 7 > len(buf):
            break
        length = adts_frame_length(buf, pos)
        if not length:
            raise CorruptHeader("aac", f"no ADTS frame header at byte {pos} (damaged data)")
        if read_int("B", buf, pos + 2) >> 2 & 0x0F != rate_index:
            raise CorruptHeader("aac", f"the frame at byte {pos} changes the sample rate")
        if pos + length > size:
            raise CorruptHeader(
                "aac", f"the file ends inside the frame at byte {pos} (it looks truncated)"
            )
        if pos + length > len(buf):
            break
        blocks += (read_int("B", buf, pos + 6) & 0x03) + 1  # raw data blocks, less 1
        pos += length
    if pos == start:  # not one whole frame in the bytes given
        raise NeedMoreBytes
    return pos, blocks, False
