"""Header parsers of WAV (and RF64/BW64, and big-endian RIFX), AIFF/AIFF-C, AU and FLAC.

Uncompressed audio is measured by the sample data actually present, so a header that claims
more (a recorder that lost power, or a lie) reports what the file really holds. FLAC with an
unknown sample count (streamed encoders write 0) reports a duration of 0, not known.
"""

from __future__ import annotations

import math
import struct
from dataclasses import replace

from inspector.errors import CorruptHeader, UnsupportedEncoding
from inspector.sniffing.id3 import audio_start
from inspector.sniffing.media import MediaInfo
from inspector.sniffing.reading import MAX_STEPS, NeedMoreBytes, read_bytes, read_int, unpack

# Sanity limits for audio headers: libsndfile's channel limit, and ultrasonic recorders
# (bat detectors) stay well below 2 MHz. Anything beyond is a broken header.
MAX_CHANNELS = 1024
MAX_SAMPLE_RATE = 2_000_000


def check_audio(fmt: str, channels: int, rate: float) -> None:
    if not 1 <= channels <= MAX_CHANNELS:
        raise CorruptHeader(fmt, f"the header says {channels} channels")
    if math.isnan(rate):
        raise CorruptHeader(fmt, "the header's sample rate is not a number (NaN)")
    if not 1 <= rate <= MAX_SAMPLE_RATE:
        raise CorruptHeader(fmt, f"the header says the sample rate is {rate:g} Hz")


_WAV_CODECS = {
    0x0001: "pcm", 0x0003: "float", 0x0006: "alaw", 0x0007: "ulaw",
    0x0002: "ms-adpcm", 0x0011: "ima-adpcm", 0x0031: "gsm610", 0x0055: "mp3",
}  # fmt: skip
_WAV_EXTENSIBLE = 0xFFFE


def parse_wav(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    rf64 = buf[:4] in (b"RF64", b"BW64")
    # RIFX is RIFF with every size and fmt field big-endian (and big-endian samples).
    order = ">" if buf[:4] == b"RIFX" else "<"
    fmt: tuple[int, int, int, int, int] | None = None
    fact_frames: int | None = None
    ds64_data_size: int | None = None
    pos = 12
    for _ in range(MAX_STEPS):
        if pos + 8 > size:
            missing = "fmt" if fmt is None else "data"
            raise CorruptHeader("wav", f"the file has no {missing} chunk")
        chunk, length = unpack(order + "4sI", buf, pos)
        body = pos + 8
        if chunk == b"ds64" and rf64:  # 64-bit sizes for files over 4 GiB
            ds64_data_size = read_int("<Q", buf, body + 8)
        elif chunk == b"fmt ":
            fmt = _wav_format(buf, body, length, order)
        elif chunk == b"fact" and length >= 4:
            fact_frames = read_int(order + "I", buf, body)
        elif chunk == b"data":
            if fmt is None:
                raise CorruptHeader("wav", "the data chunk comes before the fmt chunk")
            if rf64 and length == 0xFFFFFFFF and ds64_data_size is not None:
                length = ds64_data_size
            # Recorders that stop abruptly leave 0 or the maximum here: trust the file.
            available = size - body
            data_bytes = available if length == 0 or length > available else length
            return _wav_info(info, fmt, data_bytes, fact_frames)
        pos = body + length + (length & 1)  # chunks are padded to an even length
    raise CorruptHeader("wav", f"no data chunk within {MAX_STEPS} chunks")


def _wav_format(buf: bytes, body: int, length: int, order: str) -> tuple[int, int, int, int, int]:
    if length < 16:
        raise CorruptHeader("wav", f"the fmt chunk is {length} bytes, fewer than 16")
    tag, channels, rate, byte_rate, block_align, bits = unpack(order + "HHIIHH", buf, body)
    if tag == _WAV_EXTENSIBLE:
        if length < 40:
            raise CorruptHeader("wav", "WAVE_FORMAT_EXTENSIBLE without its sub-format")
        # The sub-format GUID starts with the format tag, the low half of its first field.
        tag = read_int(order + "I", buf, body + 24) & 0xFFFF
    if tag not in _WAV_CODECS:
        raise UnsupportedEncoding("wav", f"WAV format tag 0x{tag:04X} is not supported")
    check_audio("wav", channels, rate)
    # Every frame (or compressed block) takes at least one byte: 0 is a lie that readers
    # dividing by it, or stepping by it, cannot survive.
    if block_align == 0:
        raise CorruptHeader("wav", "the fmt chunk says each block is 0 bytes (block align 0)")
    codec = _WAV_CODECS[tag]
    if codec == "pcm" and not 1 <= bits <= 32:
        raise CorruptHeader("wav", f"PCM with {bits} bits per sample")
    if codec == "float" and bits not in (32, 64):
        raise CorruptHeader("wav", f"floating point with {bits} bits per sample")
    return tag, channels, rate, byte_rate, bits


def _wav_info(
    info: MediaInfo,
    fmt: tuple[int, int, int, int, int],
    data_bytes: int,
    fact_frames: int | None,
) -> MediaInfo:
    tag, channels, rate, byte_rate, bits = fmt
    codec = _WAV_CODECS[tag]
    if codec in ("pcm", "float", "alaw", "ulaw"):
        frame_bytes = channels * max(1, math.ceil(bits / 8))
        duration = data_bytes // frame_bytes / rate
    elif fact_frames is not None:  # compressed: the fact chunk counts the frames
        duration = fact_frames / rate
    else:
        duration = data_bytes / byte_rate if byte_rate else 0.0
    return replace(
        info,
        duration_seconds=duration,
        sample_rate=rate,
        channels=channels,
        bits=bits,
        codec=codec,
    )


def is_flac(head: bytes) -> bool:
    """The "fLaC" signature at the start, or after ID3v2 tags."""
    try:
        start = audio_start(head, len(head) + 1, "flac")  # how long the file is does not matter
    except (NeedMoreBytes, CorruptHeader):
        return False  # a broken tag: MP3's parser, which reads tags too, says what is wrong
    return head[start : start + 4] == b"fLaC"


def parse_flac(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    start = audio_start(buf, size, "flac")
    block = read_int(">I", buf, start + 4)
    if block >> 24 & 0x7F != 0 or block & 0xFFFFFF < 34:
        raise CorruptHeader("flac", "the first metadata block is not STREAMINFO")
    read_bytes(buf, start + 8, 34)  # the whole block, or the file is cut inside its header
    # STREAMINFO bytes 10..17: 20-bit rate, 3-bit channels-1, 5-bit bits-1, 36-bit samples
    packed = read_int(">Q", buf, start + 8 + 10)
    rate, samples = packed >> 44, packed & (2**36 - 1)
    channels, bits = (packed >> 41 & 0x7) + 1, (packed >> 36 & 0x1F) + 1
    check_audio("flac", channels, rate)
    return replace(
        info,
        duration_seconds=samples / rate,
        duration_known=samples > 0,  # 0 samples means "unknown" in STREAMINFO
        sample_rate=rate,
        channels=channels,
        bits=bits,
        codec="flac",
    )


_AIFF_SAMPLE_BYTES = {
    b"NONE": 0, b"twos": 0, b"sowt": 0,  # 0: bytes from the COMM sample size
    b"raw ": 1, b"in24": 3, b"in32": 4, b"fl32": 4, b"FL32": 4, b"fl64": 8, b"FL64": 8,
    b"ulaw": 1, b"ULAW": 1, b"alaw": 1, b"ALAW": 1,
    b"ima4": -1,  # compressed: no fixed frame size
}  # fmt: skip


def parse_aiff(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    aifc = buf[8:12] == b"AIFC"
    comm: tuple[int, int, int, float, bytes] | None = None
    sound_bytes = size  # an upper bound until the SSND chunk is seen
    pos = 12
    for _ in range(MAX_STEPS):
        if pos + 8 > size:
            break
        try:
            chunk, length = unpack(">4sI", buf, pos)
        except NeedMoreBytes:
            if comm is None:
                raise
            break  # COMM is known; the sound data lies past the window
        body = pos + 8
        if chunk == b"COMM":
            channels, frames, bits = unpack(">hIh", buf, body)
            rate = _extended_float(read_bytes(buf, body + 8, 10))
            compression = read_bytes(buf, body + 18, 4) if aifc else b"NONE"
            comm = (channels, frames, bits, rate, compression)
        elif chunk == b"SSND":
            offset = read_int(">I", buf, body)
            start = body + 8 + offset
            sound_bytes = max(0, min(length - 8 - offset, size - start))
        if comm is not None and chunk == b"SSND":
            break
        pos = body + length + (length & 1)
    if comm is None:
        raise CorruptHeader("aiff", "the file has no COMM chunk")
    channels, frames, bits, rate, compression = comm
    check_audio("aiff", channels, rate)
    if compression not in _AIFF_SAMPLE_BYTES:
        name = compression.decode("latin-1")
        raise UnsupportedEncoding("aiff", f"AIFF-C compression {name!r} is not supported")
    sample_bytes = _AIFF_SAMPLE_BYTES[compression]
    if sample_bytes == 0:
        if not 1 <= bits <= 32:
            raise CorruptHeader("aiff", f"the header says {bits} bits per sample")
        sample_bytes = math.ceil(bits / 8)
    if sample_bytes > 0:  # uncompressed: count only the frames the file really holds
        frames = min(frames, sound_bytes // (sample_bytes * channels))
    return replace(
        info,
        duration_seconds=frames / rate,
        sample_rate=round(rate),
        channels=channels,
        bits=bits,
        codec=compression.decode("latin-1").strip().lower(),
    )


def _extended_float(raw: bytes) -> float:
    """An IEEE 754 80-bit extended float (AIFF's sample rate)."""
    exponent, mantissa = struct.unpack(">HQ", raw)
    sign, exponent = -1.0 if exponent >> 15 else 1.0, exponent & 0x7FFF
    if exponent == 0x7FFF:  # infinity when only the explicit integer bit is set, else NaN
        return sign * math.inf if mantissa == 1 << 63 else math.nan
    if mantissa == 0:
        return 0.0
    if exponent > 16383 + 64:  # far beyond any sample rate, and beyond a float's range
        return sign * math.inf
    return sign * math.ldexp(mantissa, exponent - 16383 - 63)


_AU_SAMPLE_BYTES = {1: 1, 2: 1, 3: 2, 4: 3, 5: 4, 6: 4, 7: 8, 27: 1}
_AU_CODECS = {1: "ulaw", 27: "alaw", 6: "float", 7: "double"}


def parse_au(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    offset, data_size, encoding, rate, channels = unpack(">IIIII", buf, 4)
    if not 24 <= offset <= size:
        raise CorruptHeader("au", f"the data offset {offset} is outside the file")
    if encoding not in _AU_SAMPLE_BYTES:
        raise UnsupportedEncoding("au", f"AU encoding {encoding} is not supported")
    check_audio("au", channels, rate)
    available = size - offset
    data = available if data_size == 0xFFFFFFFF else min(data_size, available)
    sample_bytes = _AU_SAMPLE_BYTES[encoding]
    return replace(
        info,
        duration_seconds=data // (sample_bytes * channels) / rate,
        sample_rate=rate,
        channels=channels,
        bits=8 * sample_bytes,
        codec=_AU_CODECS.get(encoding, "pcm"),
    )
