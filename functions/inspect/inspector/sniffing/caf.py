"""Header parser of Apple's Core Audio Format (CAF): a `caff` file header, then chunks of a
four-character type and a signed 64-bit size, all big-endian
(https://developer.apple.com/library/archive/documentation/MusicAudio/Reference/CAFSpec/CAF_spec/CAF_spec.html).

`desc`, first as the spec requires, gives the rate, codec and layout. Constant-size packets
(lpcm, ulaw, alaw) are counted from the `data` chunk's size (less its 4-byte edit count);
variable ones (ALAC, AAC) from the packet table (`pakt`), whose valid-frame count leaves out the
encoder's priming and remainder frames. FFmpeg writes `pakt` after `data`, past the head of any
but a short file: its offset follows from `data`'s size, and the parser asks for its first
bytes there (`NeedRange`, one more read). Without a packet table the duration is not known.
A `data` size of -1 (a recording still being written) runs to the end of the file.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from inspector.errors import CorruptHeader, UnsupportedEncoding
from inspector.sniffing.audio import check_audio
from inspector.sniffing.media import MediaInfo
from inspector.sniffing.mpeg4_audio import es_descriptor_config
from inspector.sniffing.reading import MAX_STEPS, NeedMoreBytes, NeedRange, read_int, unpack

_CHUNK_HEADER = 12  # type, then a signed 64-bit size
_PAKT_HEADER = 24  # packets (64), valid frames (64), priming frames (32), remainder (32)
_FORMATS = {b"lpcm": "pcm", b"ulaw": "ulaw", b"alaw": "alaw", b"alac": "alac", b"aac ": "aac"}
_OTHER_FORMATS = {
    b"ima4": "IMA4 ADPCM", b".mp3": "MP3", b"MAC3": "MACE 3:1", b"MAC6": "MACE 6:1",
    b"samr": "AMR", b"ilbc": "iLBC", b"opus": "Opus", b"flac": "FLAC", b"QDM2": "QDesign 2",
    b"Qclp": "QCELP", b"aach": "HE-AAC", b"aacp": "HE-AACv2", b"ac-3": "AC-3",
}  # fmt: skip
# Format flags of an ALAC desc chunk: the bit depth of the source (CAF spec, "ALAC").
_ALAC_BITS = {1: 16, 2: 20, 3: 24, 4: 32}
_LPCM_IS_FLOAT = 1  # kCAFLinearPCMFormatFlagIsFloat


@dataclass(frozen=True)
class _Description:
    rate: float
    format_id: bytes
    flags: int
    bytes_per_packet: int
    frames_per_packet: int
    channels: int
    bits: int


@dataclass
class _Chunks:
    desc: _Description
    cookie: tuple[int, int] | None = None  # `kuki`: the codec's magic cookie (start, end)
    valid_frames: int | None = None  # from `pakt`
    data: tuple[int, int] | None = None  # audio bytes: start, length


def parse_caf(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    version = read_int(">H", buf, 4)
    if version != 1:
        raise CorruptHeader("caf", f"the file header says CAF version {version}")
    chunks = _read_chunks(buf, size)
    desc = chunks.desc
    if desc.format_id not in _FORMATS:
        name = _OTHER_FORMATS.get(desc.format_id, repr(desc.format_id.decode("latin-1")))
        raise UnsupportedEncoding("caf", f"CAF audio in {name} is not supported")
    check_audio("caf", desc.channels, desc.rate)
    if chunks.data is None:
        raise CorruptHeader("caf", "the file has no data chunk")
    frames = _frames(chunks, buf, size, tail)
    return replace(
        info,
        duration_seconds=(frames or 0) / desc.rate,
        duration_known=frames is not None,
        sample_rate=round(desc.rate),
        channels=desc.channels,
        bits=_bits(chunks, buf),
        codec=_codec(chunks, buf),
    )


def _read_chunks(buf: bytes, size: int) -> _Chunks:
    """The chunks up to `data` (and the packet table, when it comes first)."""
    chunks = _Chunks(_description(buf))
    pos = 8 + _CHUNK_HEADER + 32
    for _ in range(MAX_STEPS):
        if pos + _CHUNK_HEADER > size:
            return chunks
        kind, length = unpack(">4sq", buf, pos)
        body = pos + _CHUNK_HEADER
        if kind == b"data":
            chunks.data = _data_chunk(body, length, size)
            return chunks
        if length < 0 or body + length > size:
            raise CorruptHeader("caf", f"chunk {kind!r} at byte {pos} has an impossible size")
        if kind == b"kuki":
            chunks.cookie = (body, body + length)
        elif kind == b"pakt":
            chunks.valid_frames = read_int(">q", buf, body + 8)
        pos = body + length
    raise CorruptHeader("caf", f"no data chunk within {MAX_STEPS} chunks")


def _description(buf: bytes) -> _Description:
    kind, length = unpack(">4sq", buf, 8)
    if kind != b"desc" or length < 32:
        raise CorruptHeader("caf", "the first chunk is not a 32-byte audio description (desc)")
    rate, format_id, *fields = unpack(">d4sIIIII", buf, 8 + _CHUNK_HEADER)
    return _Description(rate, format_id, *fields)


def _data_chunk(body: int, length: int, size: int) -> tuple[int, int]:
    """(start, length) of the audio in a `data` chunk, after its edit count."""
    if length == -1:  # written while recording: the audio runs to the end of the file
        length = size - body
    if length < 4:
        raise CorruptHeader("caf", f"the data chunk is {length} bytes")
    if body + length > size:
        raise CorruptHeader(
            "caf",
            f"the file ends {body + length - size} bytes before the end of its data chunk "
            "(it looks truncated)",
        )
    return body + 4, length - 4


def _frames(chunks: _Chunks, buf: bytes, size: int, tail: bytes) -> int | None:
    """Frames of audio: from the data's size for constant-size packets, else the packet table
    (read where FFmpeg puts it, right after the data); None when there is none."""
    desc = chunks.desc
    assert chunks.data is not None
    start, length = chunks.data
    if desc.bytes_per_packet and desc.frames_per_packet:
        return length // desc.bytes_per_packet * desc.frames_per_packet
    if chunks.valid_frames is not None:
        return max(chunks.valid_frames, 0)
    after_data = start + length
    if after_data + _CHUNK_HEADER > size:
        return None
    pakt_end = after_data + _CHUNK_HEADER + _PAKT_HEADER
    if pakt_end > len(buf) and len(buf) < size and not tail:
        raise NeedRange(after_data, min(size, pakt_end))
    following = tail or buf[after_data:]
    try:
        kind, length = unpack(">4sq", following, 0)
        valid = read_int(">q", following, _CHUNK_HEADER + 8)
    except NeedMoreBytes:
        return None
    return max(valid, 0) if kind == b"pakt" and length >= _PAKT_HEADER else None


def _bits(chunks: _Chunks, buf: bytes) -> int:
    """Bits per sample of PCM and of ALAC's source; 0 for lossy AAC."""
    desc = chunks.desc
    if desc.format_id != b"alac":
        return 0 if desc.format_id == b"aac " else desc.bits
    if desc.flags in _ALAC_BITS or chunks.cookie is None:
        return _ALAC_BITS.get(desc.flags, 0)
    # The cookie is an ALACSpecificConfig (Apple), or one inside `frma` and `alac` atoms
    # (FFmpeg); its bit depth is byte 5 of the config.
    start = chunks.cookie[0]
    if buf[start + 4 : start + 8] == b"frma":
        start += 12 + 12  # the frma atom, then the alac atom's header, version and flags
    return read_int("B", buf, start + 5)


def _codec(chunks: _Chunks, buf: bytes) -> str:
    desc = chunks.desc
    if desc.format_id == b"lpcm":
        return "float" if desc.flags & _LPCM_IS_FLOAT else "pcm"
    if desc.format_id == b"aac " and chunks.cookie is not None:
        return es_descriptor_config(buf, *chunks.cookie, "caf").codec  # the cookie is an esds
    return _FORMATS[desc.format_id]
