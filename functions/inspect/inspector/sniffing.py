"""Identify an upload from its first bytes and read its header, without decoding any media.

`sniff(head, size)` looks at magic bytes, never at the name or the declared type, and reads
dimensions (images) or duration (audio) from the header alone. Every read is bounds-checked
against the bytes given and every loop has a fixed bound, so hostile or truncated input ends
in `MediaInfo` or in an `UnusableHeader` (`CorruptHeader`, `UnsupportedEncoding`), nothing else.

What the header cannot say is reported as 0 (see `MediaInfo`):
- width/height are as displayed: JPEG and TIFF apply the EXIF orientation, HEIF/AVIF the
  `irot` rotation of the primary item. PNG/WebP/GIF/BMP report the stored size.
- JPEG, TIFF, HEIF and AVIF may keep their dimensions past any fixed window (many APPn
  segments, IFD0 or `meta` after the pixel data); then `complete` is False and they stay 0.
- Ogg keeps no length in its headers: the duration comes from the granule position of the
  last page, in `tail` (the file's last bytes); without it the duration is 0.
- MP3 duration comes from a Xing/Info frame (less the LAME tag's encoder delay and padding)
  or a VBRI frame when there is one; otherwise it is estimated from the first frame's
  bitrate and the file size (exact for constant bitrate only).
- FLAC with an unknown sample count (streamed encoders write 0) reports 0.
- Uncompressed audio is measured by the sample data actually present, so a header that
  claims more (a recorder that lost power, or a lie) reports what the file really holds.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal

from inspector.errors import CorruptHeader, UnsupportedEncoding

Kind = Literal["image", "audio", "unknown"]

OCTET_STREAM = "application/octet-stream"

# What a person calls each format, for rejection reasons.
LABELS = {
    "jpeg": "JPEG", "png": "PNG", "webp": "WebP", "gif": "GIF", "tiff": "TIFF", "bmp": "BMP",
    "heif": "HEIF", "avif": "AVIF", "wav": "WAV", "flac": "FLAC", "ogg": "Ogg", "mp3": "MP3",
    "aiff": "AIFF", "au": "AU",
}  # fmt: skip

# Bounds on header walks: real files need a few dozen steps, hostile ones get a clear error.
_MAX_STEPS = 4096
# Sanity limits for audio headers: libsndfile's channel limit, and ultrasonic recorders
# (bat detectors) stay well below 2 MHz. Anything beyond is a broken header.
MAX_CHANNELS = 1024
MAX_SAMPLE_RATE = 2_000_000


@dataclass(frozen=True)
class MediaInfo:
    """What the header says. Numbers the header does not give are 0."""

    kind: Kind
    format: str
    content_type: str
    width: int = 0
    height: int = 0
    orientation: int = 1  # EXIF orientation 1..8 (JPEG/TIFF; HEIF `irot` mapped to it)
    duration_seconds: float = 0.0
    sample_rate: int = 0
    channels: int = 0  # audio channels, or colour components of an image
    bits: int = 0  # bits per sample (audio) or per colour component (image)
    codec: str = ""  # e.g. "baseline", "progressive", "lossless", "pcm", "vorbis", "opus"
    complete: bool = True  # False: identified, but the header runs past the bytes given
    looks_like: str = ""  # for unknown content: what the first bytes resemble

    @property
    def pixels(self) -> int:
        return self.width * self.height


class _NeedMoreBytes(Exception):
    """The header continues past the bytes given."""


Parser = Callable[[bytes, int, bytes, MediaInfo], MediaInfo]


def sniff(head: bytes, size: int | None = None, tail: bytes = b"") -> MediaInfo:
    """Identify `head`, the first bytes of an object of `size` bytes, and read its header.

    `size` defaults to `len(head)`, i.e. `head` is the whole file. `tail` holds the file's
    last bytes and is used only for Ogg. Raises `UnusableHeader` for a recognised format
    whose header is truncated, impossible or uses an unsupported encoding.
    """
    size = len(head) if size is None else max(size, len(head))
    found = _identify(head)
    if found is None:
        return MediaInfo("unknown", "unknown", OCTET_STREAM, looks_like=describe(head))
    info, parse = found
    try:
        return parse(head, size, tail, info)
    except _NeedMoreBytes:
        if len(head) >= size:
            raise CorruptHeader(
                info.format,
                f"the file ends inside its header after {size} bytes (it looks truncated)",
            ) from None
        return replace(info, complete=False)


def content_type_of(fmt: str) -> str:
    """The MIME type for a format name, for verdicts where the header could not be read."""
    return _CONTENT_TYPES.get(fmt, OCTET_STREAM)


# ---------------------------------------------------------------------------------------
# Bounds-checked reads: the only way the parsers touch the bytes.


def _unpack(fmt: str, buf: bytes, offset: int) -> tuple[Any, ...]:
    if offset < 0 or offset + struct.calcsize(fmt) > len(buf):
        raise _NeedMoreBytes
    return struct.unpack_from(fmt, buf, offset)


def _int(fmt: str, buf: bytes, offset: int) -> int:
    return int(_unpack(fmt, buf, offset)[0])


def _bytes(buf: bytes, offset: int, length: int) -> bytes:
    if offset < 0 or length < 0 or offset + length > len(buf):
        raise _NeedMoreBytes
    return buf[offset : offset + length]


# ---------------------------------------------------------------------------------------
# Identification by magic bytes.


def _image(fmt: str, content_type: str) -> MediaInfo:
    return MediaInfo("image", fmt, content_type)


def _audio(fmt: str, content_type: str) -> MediaInfo:
    return MediaInfo("audio", fmt, content_type)


_CONTENT_TYPES = {
    "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif",
    "tiff": "image/tiff", "bmp": "image/bmp", "heif": "image/heif", "avif": "image/avif",
    "wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg", "mp3": "audio/mpeg",
    "aiff": "audio/aiff", "au": "audio/basic",
}  # fmt: skip

_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_AVIF_BRANDS = {b"avif", b"avis"}
_GENERIC_HEIF_BRANDS = {b"mif1", b"msf1", b"mif2"}


def _identify(head: bytes) -> tuple[MediaInfo, Parser] | None:
    if head.startswith(b"\xff\xd8\xff"):
        return _image("jpeg", "image/jpeg"), _parse_jpeg
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _image("png", "image/png"), _parse_png
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return _image("gif", "image/gif"), _parse_gif
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _image("webp", "image/webp"), _parse_webp
    if head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] == b"WAVE":
        return _audio("wav", "audio/wav"), _parse_wav
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return _image("tiff", "image/tiff"), _parse_tiff
    if head[:2] == b"BM" and len(head) >= 18 and _int("<I", head, 14) in _BMP_HEADER_SIZES:
        return _image("bmp", "image/bmp"), _parse_bmp
    if head[4:8] == b"ftyp":
        heif = _identify_heif(head)
        return (heif, _parse_heif) if heif else None
    if head[:4] == b"fLaC":
        return _audio("flac", "audio/flac"), _parse_flac
    if head[:4] == b"OggS":
        return _audio("ogg", "audio/ogg"), _parse_ogg
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return _audio("aiff", "audio/aiff"), _parse_aiff
    if head[:4] == b".snd":
        return _audio("au", "audio/basic"), _parse_au
    if head[:3] == b"ID3" or _first_mpeg_frame(head):
        return _audio("mp3", "audio/mpeg"), _parse_mp3
    return None


def _identify_heif(head: bytes) -> MediaInfo | None:
    (ftyp_size,) = struct.unpack_from(">I", head, 0)
    brands_end = min(ftyp_size, len(head))
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, brands_end - 3, 4)}
    if major in _GENERIC_HEIF_BRANDS:
        # A generic major brand: the compatible brands say which codec is inside.
        if compatible & _AVIF_BRANDS:
            major = b"avif"
        elif compatible & _HEIC_BRANDS:
            major = b"heic"
    if major in _AVIF_BRANDS:
        return _image("avif", "image/avif")
    if major in _HEIC_BRANDS:
        return _image("heif", "image/heic")
    if major in _GENERIC_HEIF_BRANDS:
        return _image("heif", "image/heif")
    return None


def _first_mpeg_frame(head: bytes) -> bool:
    """An MPEG audio frame at 0, confirmed by the next frame header when that is in `head`."""
    frame = _mpeg_frame(head, 0)
    if frame is None:
        return False
    return frame.length + 4 > len(head) or _mpeg_frame(head, frame.length) is not None


# ---------------------------------------------------------------------------------------
# Images.

_SOF_CODECS = {
    0xC0: "baseline", 0xC1: "extended", 0xC2: "progressive", 0xC3: "lossless",
    0xC5: "hierarchical", 0xC6: "hierarchical", 0xC7: "hierarchical",
    0xC9: "arithmetic", 0xCA: "arithmetic", 0xCB: "arithmetic",
    0xCD: "arithmetic", 0xCE: "arithmetic", 0xCF: "arithmetic",
}  # fmt: skip
_EXIF_ORIENTATION = 0x0112
_TIFF_WIDTH, _TIFF_LENGTH = 0x0100, 0x0101


def _displayed(width: int, height: int, orientation: int) -> tuple[int, int]:
    # Orientations 5..8 turn the picture by a quarter: the displayed sides swap.
    return (height, width) if orientation >= 5 else (width, height)


def _parse_jpeg(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    pos = 2
    orientation = 1
    for _ in range(_MAX_STEPS):
        if _int("B", buf, pos) != 0xFF:
            raise CorruptHeader("jpeg", f"expected a marker at byte {pos}")
        while _int("B", buf, pos) == 0xFF:  # fill bytes; the read stops at the end of `buf`
            pos += 1
        marker = _int("B", buf, pos)
        pos += 1
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # markers without a length
            continue
        if marker in (0xD9, 0xDA) or marker == 0x00:
            raise CorruptHeader("jpeg", "the image data starts before any frame header (SOF)")
        length = _int(">H", buf, pos)
        if length < 2:
            raise CorruptHeader("jpeg", f"segment at byte {pos} has length {length}")
        body, pos = pos + 2, pos + length
        if marker in _SOF_CODECS:
            precision, height, width, components = _unpack(">BHHB", buf, body)
            if width == 0 or height == 0:
                raise CorruptHeader("jpeg", f"the frame header says {width}x{height} pixels")
            width, height = _displayed(width, height, orientation)
            return replace(
                info,
                width=width,
                height=height,
                orientation=orientation,
                channels=components,
                bits=precision,
                codec=_SOF_CODECS[marker],
            )
        if marker == 0xE1 and orientation == 1:
            segment = _bytes(buf, body, length - 2)
            if segment.startswith(b"Exif\x00\x00"):
                orientation = _exif_orientation(segment[6:])
    raise CorruptHeader("jpeg", f"no frame header (SOF) within {_MAX_STEPS} segments")


def _exif_orientation(tiff: bytes) -> int:
    # Broken EXIF is common (editors rewrite it badly) and only costs us the rotation.
    try:
        value = _tiff_ifd0(tiff, len(tiff), "jpeg").get(_EXIF_ORIENTATION, 1)
    except (_NeedMoreBytes, CorruptHeader):
        return 1
    return value if 1 <= value <= 8 else 1


def _tiff_ifd0(buf: bytes, size: int, fmt: str) -> dict[int, int]:
    """Width, length and orientation tags of a TIFF structure's first IFD."""
    order = {b"II": "<", b"MM": ">"}.get(buf[:2])
    if order is None:
        raise CorruptHeader(fmt, "the TIFF byte order mark is neither II nor MM")
    magic, ifd = _unpack(order + "HI", buf, 2)
    if magic != 42:
        raise CorruptHeader(fmt, f"the TIFF version is {magic}, not 42")
    if ifd < 8 or ifd + 2 > size:
        raise CorruptHeader(fmt, f"the first IFD offset {ifd} is outside the file")
    tags: dict[int, int] = {}
    count = _int(order + "H", buf, ifd)  # at most 65535 entries: a bounded loop
    for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
        tag, kind, n = _unpack(order + "HHI", buf, entry)
        if tag in (_TIFF_WIDTH, _TIFF_LENGTH, _EXIF_ORIENTATION) and n >= 1:
            if kind == 3:  # SHORT, stored in the entry itself
                tags[tag] = _int(order + "H", buf, entry + 8)
            elif kind == 4:  # LONG
                tags[tag] = _int(order + "I", buf, entry + 8)
        if tag > _EXIF_ORIENTATION:  # entries are sorted by tag
            break
    return tags


def _tiff_ifd_chain(buf: bytes) -> None:
    """Follow the IFDs' next-IFD offsets through `buf`; a chain that comes back to an IFD
    already seen is corrupt (readers that trust it never reach the end)."""
    order = "<" if buf[:2] == b"II" else ">"
    seen: set[int] = set()
    ifd = _int(order + "I", buf, 4)
    for _ in range(_MAX_STEPS):
        if ifd == 0 or ifd + 2 > len(buf):
            return  # the end of the chain, or beyond the bytes given
        if ifd in seen:
            raise CorruptHeader("tiff", f"the chain of IFDs loops back to the IFD at byte {ifd}")
        seen.add(ifd)
        entries_end = ifd + 2 + 12 * _int(order + "H", buf, ifd)
        if entries_end + 4 > len(buf):
            return
        ifd = _int(order + "I", buf, entries_end)
    # A multi-page file may hold more pages than this walk follows: that is no fault of it.


def _parse_tiff(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    tags = _tiff_ifd0(buf, size, "tiff")
    _tiff_ifd_chain(buf)
    width, height = tags.get(_TIFF_WIDTH, 0), tags.get(_TIFF_LENGTH, 0)
    if width == 0 or height == 0:
        raise CorruptHeader("tiff", f"the first IFD says {width}x{height} pixels")
    orientation = tags.get(_EXIF_ORIENTATION, 1)
    orientation = orientation if 1 <= orientation <= 8 else 1
    width, height = _displayed(width, height, orientation)
    return replace(info, width=width, height=height, orientation=orientation)


_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def _parse_png(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    length, chunk, width, height, depth, colour = _unpack(">I4sIIBB", buf, 8)
    if chunk != b"IHDR" or length != 13:
        raise CorruptHeader("png", "the first chunk is not a 13-byte IHDR")
    if not (0 < width < 2**31 and 0 < height < 2**31):
        raise CorruptHeader("png", f"IHDR says {width}x{height} pixels")
    if colour not in _PNG_CHANNELS:
        raise CorruptHeader("png", f"IHDR has colour type {colour}")
    return replace(info, width=width, height=height, channels=_PNG_CHANNELS[colour], bits=depth)


def _parse_gif(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    width, height = _unpack("<HH", buf, 6)
    if width == 0 or height == 0:
        raise CorruptHeader("gif", f"the logical screen is {width}x{height} pixels")
    return replace(info, width=width, height=height)


def _parse_webp(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    chunk = _bytes(buf, 12, 4)
    body = 20
    if chunk == b"VP8 ":  # lossy: key frame tag, start code, 14-bit sizes
        if _bytes(buf, body + 3, 3) != b"\x9d\x01\x2a":
            raise CorruptHeader("webp", "the VP8 key frame start code is missing")
        width, height = (v & 0x3FFF for v in _unpack("<HH", buf, body + 6))
        codec = "lossy"
    elif chunk == b"VP8L":  # lossless: signature byte, then 14-bit sizes minus one
        if _int("B", buf, body) != 0x2F:
            raise CorruptHeader("webp", "the VP8L signature is missing")
        bits = _int("<I", buf, body + 1)
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        codec = "lossless"
    elif chunk == b"VP8X":  # extended: 24-bit canvas sizes minus one
        width = 1 + int.from_bytes(_bytes(buf, body + 4, 3), "little")
        height = 1 + int.from_bytes(_bytes(buf, body + 7, 3), "little")
        codec = "extended"
    else:
        raise CorruptHeader("webp", f"the first chunk is {chunk!r}, not VP8, VP8L or VP8X")
    if width == 0 or height == 0:
        raise CorruptHeader("webp", f"the bitstream says {width}x{height} pixels")
    return replace(info, width=width, height=height, codec=codec)


_BMP_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}


def _parse_bmp(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    header = _int("<I", buf, 14)
    if header == 12:  # OS/2 BITMAPCOREHEADER: unsigned 16-bit sizes
        width, height, planes, bits = _unpack("<HHHH", buf, 18)
    else:  # BITMAPINFOHEADER and later: signed 32-bit, negative height = top-down rows
        width, height, planes, bits = _unpack("<iiHH", buf, 18)
        height = abs(height)
    if width <= 0 or height == 0 or planes != 1:
        raise CorruptHeader("bmp", f"the header says {width}x{height} pixels, {planes} planes")
    return replace(info, width=width, height=height, bits=bits)


# HEIF/AVIF are ISO-BMFF: the primary item's size is its `ispe` property, found through
# meta/pitm (which item), meta/iprp/ipma (its properties) and meta/iprp/ipco (the list);
# its `clap` crop, then its `irot` rotation, give the size as displayed.
_IROT_ORIENTATION = {0: 1, 1: 8, 2: 3, 3: 6}  # quarter turns anti-clockwise -> EXIF value


def _boxes(buf: bytes, start: int, end: int, fmt: str) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) of the boxes in buf[start:end]."""
    pos = start
    for _ in range(_MAX_STEPS):
        if pos + 8 > end:
            return
        size, box = _unpack(">I4s", buf, pos)
        header = 8
        if size == 1:
            size, header = _int(">Q", buf, pos + 8), 16
        elif size == 0:  # runs to the end of its container (or of the file)
            size = end - pos
        if size < header or pos + size > end:
            raise CorruptHeader(fmt, f"box {box!r} at byte {pos} has an impossible size {size}")
        yield box, pos + header, pos + size
        pos += size
    raise CorruptHeader(fmt, f"more than {_MAX_STEPS} boxes in one container")


def _parse_heif(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    for box, start, end in _boxes(buf, 0, size, info.format):
        if box == b"meta":  # a FullBox: version and flags come first
            width, height, rotation = _heif_primary_size(buf, start + 4, end, info.format)
            orientation = _IROT_ORIENTATION[rotation]
            width, height = _displayed(width, height, orientation)
            return replace(info, width=width, height=height, orientation=orientation)
    raise CorruptHeader(info.format, "there is no 'meta' box")


def _heif_primary_size(buf: bytes, start: int, end: int, fmt: str) -> tuple[int, int, int]:
    primary: int | None = None
    properties: list[tuple[bytes, int, int]] = []
    associations: dict[int, list[int]] = {}
    for box, s, e in _boxes(buf, start, end, fmt):
        if box == b"pitm":
            primary = _int(">H" if _int("B", buf, s) == 0 else ">I", buf, s + 4)
        elif box == b"iprp":
            for child, cs, ce in _boxes(buf, s, e, fmt):
                if child == b"ipco":
                    properties = list(_boxes(buf, cs, ce, fmt))
                elif child == b"ipma":
                    _read_ipma(buf, cs, ce, fmt, associations)
    if primary in associations:
        indexes = associations[primary]
        mine = [properties[i - 1] for i in indexes if 0 < i <= len(properties)]
    else:  # no usable pitm/ipma: fall back to the largest image described
        mine = properties
    sizes = [tuple(_unpack(">II", buf, s + 4)) for box, s, _ in mine if box == b"ispe"]
    if not sizes:
        raise CorruptHeader(fmt, "the primary image has no size property (ispe)")
    width, height = max(sizes, key=lambda wh: wh[0] * wh[1])
    for box, s, _ in mine:
        if box == b"clap":  # encoders pad odd sizes (4:2:0) and crop with a clean aperture
            width_n, width_d, height_n, height_d = _unpack(">IIII", buf, s)
            if width_d and height_d:
                width = min(width, (2 * width_n + width_d) // (2 * width_d))
                height = min(height, (2 * height_n + height_d) // (2 * height_d))
    if width == 0 or height == 0:
        raise CorruptHeader(fmt, f"the primary image is {width}x{height} pixels")
    rotation = next((_int("B", buf, s) & 3 for box, s, _ in mine if box == b"irot"), 0)
    return width, height, rotation


def _read_ipma(buf: bytes, start: int, end: int, fmt: str, into: dict[int, list[int]]) -> None:
    version, flags = _int("B", buf, start), _int(">I", buf, start) & 0xFFFFFF
    count = _int(">I", buf, start + 4)
    id_fmt, index_fmt = (">H" if version < 1 else ">I"), (">H" if flags & 1 else "B")
    index_mask = 0x7FFF if flags & 1 else 0x7F  # the top bit marks "essential"
    pos = start + 8
    if count > (end - pos) // (struct.calcsize(id_fmt) + 1):
        raise CorruptHeader(fmt, f"ipma claims {count} entries in {end - pos} bytes")
    for _ in range(count):
        item = _int(id_fmt, buf, pos)
        pos += struct.calcsize(id_fmt)
        n = _int("B", buf, pos)
        pos += 1
        for _ in range(n):
            into.setdefault(item, []).append(_int(index_fmt, buf, pos) & index_mask)
            pos += struct.calcsize(index_fmt)


# ---------------------------------------------------------------------------------------
# Audio.


def _check_audio(fmt: str, channels: int, rate: float) -> None:
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


def _parse_wav(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    rf64 = buf[:4] in (b"RF64", b"BW64")
    fmt: tuple[int, int, int, int, int] | None = None
    fact_frames: int | None = None
    ds64_data_size: int | None = None
    pos = 12
    for _ in range(_MAX_STEPS):
        if pos + 8 > size:
            missing = "fmt" if fmt is None else "data"
            raise CorruptHeader("wav", f"the file has no {missing} chunk")
        chunk, length = _unpack("<4sI", buf, pos)
        body = pos + 8
        if chunk == b"ds64" and rf64:  # 64-bit sizes for files over 4 GiB
            ds64_data_size = _int("<Q", buf, body + 8)
        elif chunk == b"fmt ":
            fmt = _wav_format(buf, body, length)
        elif chunk == b"fact" and length >= 4:
            fact_frames = _int("<I", buf, body)
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
    raise CorruptHeader("wav", f"no data chunk within {_MAX_STEPS} chunks")


def _wav_format(buf: bytes, body: int, length: int) -> tuple[int, int, int, int, int]:
    if length < 16:
        raise CorruptHeader("wav", f"the fmt chunk is {length} bytes, fewer than 16")
    tag, channels, rate, byte_rate, block_align, bits = _unpack("<HHIIHH", buf, body)
    if tag == _WAV_EXTENSIBLE:
        if length < 40:
            raise CorruptHeader("wav", "WAVE_FORMAT_EXTENSIBLE without its sub-format")
        tag = _int("<H", buf, body + 24)  # the sub-format GUID starts with the format tag
    if tag not in _WAV_CODECS:
        raise UnsupportedEncoding("wav", f"WAV format tag 0x{tag:04X} is not supported")
    _check_audio("wav", channels, rate)
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


def _parse_flac(buf: bytes, size: int, tail: bytes, info: MediaInfo, start: int = 0) -> MediaInfo:
    block = _int(">I", buf, start + 4)
    if block >> 24 & 0x7F != 0 or block & 0xFFFFFF < 34:
        raise CorruptHeader("flac", "the first metadata block is not STREAMINFO")
    _bytes(buf, start + 8, 34)  # the whole block, or the file is cut inside its header
    # STREAMINFO bytes 10..17: 20-bit rate, 3-bit channels-1, 5-bit bits-1, 36-bit samples
    packed = _int(">Q", buf, start + 8 + 10)
    rate, samples = packed >> 44, packed & (2**36 - 1)
    channels, bits = (packed >> 41 & 0x7) + 1, (packed >> 36 & 0x1F) + 1
    _check_audio("flac", channels, rate)
    return replace(
        info,
        duration_seconds=samples / rate,  # 0 samples means "unknown" in STREAMINFO
        sample_rate=rate,
        channels=channels,
        bits=bits,
        codec="flac",
    )


_OGG_OTHER_CODECS = {
    b"\x7fFLAC": "FLAC", b"Speex   ": "Speex", b"\x80theora": "Theora video",
    b"\x01video\x00\x00\x00": "video", b"OpusTags": "Opus comments",
}  # fmt: skip


def _parse_ogg(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    version, _, _, serial, _, _, segments = _unpack("<BBqIIIB", buf, 4)
    if version != 0:
        raise CorruptHeader("ogg", f"the first page has version {version}")
    packet = 27 + segments  # the identification header is alone on the first page
    if _bytes(buf, packet, 7) == b"\x01vorbis":
        channels, rate = _unpack("<BI", buf, packet + 11)
        codec, granule_rate, pre_skip = "vorbis", rate, 0
    elif _bytes(buf, packet, 8) == b"OpusHead":
        opus_version, channels, pre_skip = _unpack("<BBH", buf, packet + 8)
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
    _check_audio("ogg", channels, rate)
    last = _last_granule(tail or (buf if len(buf) >= size else b""), serial)
    duration = max(last - pre_skip, 0) / granule_rate if last is not None else 0.0
    return replace(
        info, duration_seconds=duration, sample_rate=rate, channels=channels, codec=codec
    )


def _last_granule(data: bytes, serial: int) -> int | None:
    """The granule position of the last page of stream `serial` that ends a packet."""
    pos = data.rfind(b"OggS")
    for _ in range(_MAX_STEPS):
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


_AIFF_SAMPLE_BYTES = {
    b"NONE": 0, b"twos": 0, b"sowt": 0,  # 0: bytes from the COMM sample size
    b"raw ": 1, b"in24": 3, b"in32": 4, b"fl32": 4, b"FL32": 4, b"fl64": 8, b"FL64": 8,
    b"ulaw": 1, b"ULAW": 1, b"alaw": 1, b"ALAW": 1,
    b"ima4": -1,  # compressed: no fixed frame size
}  # fmt: skip


def _parse_aiff(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    aifc = buf[8:12] == b"AIFC"
    comm: tuple[int, int, int, float, bytes] | None = None
    sound_bytes = size  # an upper bound until the SSND chunk is seen
    pos = 12
    for _ in range(_MAX_STEPS):
        if pos + 8 > size:
            break
        try:
            chunk, length = _unpack(">4sI", buf, pos)
        except _NeedMoreBytes:
            if comm is None:
                raise
            break  # COMM is known; the sound data lies past the window
        body = pos + 8
        if chunk == b"COMM":
            channels, frames, bits = _unpack(">hIh", buf, body)
            rate = _extended_float(_bytes(buf, body + 8, 10))
            compression = _bytes(buf, body + 18, 4) if aifc else b"NONE"
            comm = (channels, frames, bits, rate, compression)
        elif chunk == b"SSND":
            offset = _int(">I", buf, body)
            start = body + 8 + offset
            sound_bytes = max(0, min(length - 8 - offset, size - start))
        if comm is not None and chunk == b"SSND":
            break
        pos = body + length + (length & 1)
    if comm is None:
        raise CorruptHeader("aiff", "the file has no COMM chunk")
    channels, frames, bits, rate, compression = comm
    _check_audio("aiff", channels, rate)
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


def _parse_au(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    offset, data_size, encoding, rate, channels = _unpack(">IIIII", buf, 4)
    if not 24 <= offset <= size:
        raise CorruptHeader("au", f"the data offset {offset} is outside the file")
    if encoding not in _AU_SAMPLE_BYTES:
        raise UnsupportedEncoding("au", f"AU encoding {encoding} is not supported")
    _check_audio("au", channels, rate)
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
    word = _int(">I", buf, pos)
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


def _parse_mp3(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    pos = 0
    for _ in range(8):  # some taggers stack several ID3v2 tags
        if _bytes(buf, pos, 3) != b"ID3":
            break
        flags, *syncsafe = _unpack(">B4B", buf, pos + 5)
        if any(b & 0x80 for b in syncsafe):
            raise CorruptHeader("mp3", "the ID3v2 tag size is not a syncsafe integer")
        tag_size = sum(b << (7 * (3 - i)) for i, b in enumerate(syncsafe))
        pos += 10 + tag_size + (10 if flags & 0x10 else 0)  # 0x10: a footer follows
        if pos >= size:
            raise CorruptHeader("mp3", "the ID3v2 tag runs to the end of the file")
    if _bytes(buf, pos, 4) == b"fLaC":  # taggers put ID3 in front of FLAC too
        return _parse_flac(buf, size, tail, _audio("flac", "audio/flac"), pos)
    frame = _mpeg_frame(buf, pos)
    for _ in range(4096):  # encoders may pad between the tag and the first frame
        if frame is not None:
            break
        if pos + 4 > len(buf):
            raise _NeedMoreBytes
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


# ---------------------------------------------------------------------------------------
# Unknown content: say what it resembles, so a rejection reason helps the person.

_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"%PDF", "PDF document"),
    (0, b"PK\x03\x04", "ZIP archive (or DOCX/XLSX/APK)"),
    (0, b"\x1f\x8b", "gzip archive"),
    (0, b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (0, b"Rar!", "RAR archive"),
    (0, b"\x7fELF", "ELF executable"),
    (0, b"MZ", "Windows executable"),
    (0, b"\x1aE\xdf\xa3", "Matroska/WebM video"),
    (0, b"caff", "Core Audio (CAF) audio"),
    (0, b"wvpk", "WavPack audio"),
    (0, b"#!AMR", "AMR audio"),
    (0, b"MThd", "MIDI file"),
    (0, b"8BPS", "Photoshop document"),
    (0, b"%!PS", "PostScript document"),
    (0, b"II+\x00", "BigTIFF image"),
    (0, b"MM\x00+", "BigTIFF image"),
    (0, b"\x00\x00\x00\x0cjP  ", "JPEG 2000 image"),
    (0, b"\xff\x4f\xff\x51", "JPEG 2000 codestream"),
    (0, b"qoif", "QOI image"),
    (0, b"\x00\x00\x01\x00", "Windows icon"),
    (8, b"AVI ", "AVI video"),
)


# Byte order marks, longest first: UTF-32 LE starts with the UTF-16 LE mark.
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32"),
    (b"\xef\xbb\xbf", "utf-8", "UTF-8"),
    (b"\xff\xfe", "utf-16-le", "UTF-16"),
    (b"\xfe\xff", "utf-16-be", "UTF-16"),
)


def describe(head: bytes) -> str:
    """A short human description of what the first bytes look like."""
    if not head:
        return "nothing (empty)"
    for bom, encoding, label in _BOMS:
        # Before the signatures: "\xff\xfe" also starts an MPEG audio layer I frame header.
        if head.startswith(bom):
            # "ignore": the window may end inside a character.
            decoded = head[len(bom) : 512].decode(encoding, errors="ignore")
            if _printable(decoded):
                return f"{_describe_text(decoded)} in {label}, with a byte order mark"
    for offset, magic, name in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return name
    if head[4:8] == b"ftyp":
        brand = head[8:12].decode("latin-1").strip()
        if brand in ("M4A", "M4B", "M4P"):
            return f"MPEG-4 audio (AAC, brand {brand!r})"
        return f"MPEG-4/QuickTime media (brand {brand!r})"
    if head[:4] in (b"RIFF", b"FORM"):
        return f"{head[:4].decode()} container of type {head[8:12].decode('latin-1')!r}"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        layer = head[1] >> 1 & 3
        return "AAC audio (ADTS)" if layer == 0 else f"MPEG audio layer {4 - layer}"
    text = _as_text(head[:512])
    if text is not None:
        return _describe_text(text)
    return "binary data starting " + head[:8].hex(" ")


def _describe_text(text: str) -> str:
    stripped = text.lstrip().lower()
    if stripped.startswith(("<svg", "<?xml")):
        return "XML/SVG document"
    if stripped.startswith(("<!doctype html", "<html")):
        return "HTML document"
    return "text"


def _as_text(chunk: bytes) -> str | None:
    try:
        text = chunk.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(chunk) - 3:  # not just a character cut at the end of the chunk
            return None
        text = chunk[: err.start].decode("utf-8")
    return text if _printable(text) else None


def _printable(text: str) -> bool:
    return bool(text) and all(c.isprintable() or c in "\t\r\n" for c in text)
