"""Header parsers of the raster image formats: JPEG, TIFF, PNG, GIF, WebP and BMP.

Width and height are as displayed: JPEG and TIFF apply the EXIF orientation; PNG, WebP, GIF
and BMP report the stored size. A JPEG or TIFF may keep its dimensions past any fixed window
(many APPn segments, IFD0 after the pixel data): then the read stops with `NeedMoreBytes`.
"""

from __future__ import annotations

from dataclasses import replace

from inspector.errors import CorruptHeader
from inspector.sniffing.media import MediaInfo
from inspector.sniffing.reading import MAX_STEPS, NeedMoreBytes, read_bytes, read_int, unpack

_SOF_CODECS = {
    0xC0: "baseline", 0xC1: "extended", 0xC2: "progressive", 0xC3: "lossless",
    0xC5: "hierarchical", 0xC6: "hierarchical", 0xC7: "hierarchical",
    0xC9: "arithmetic", 0xCA: "arithmetic", 0xCB: "arithmetic",
    0xCD: "arithmetic", 0xCE: "arithmetic", 0xCF: "arithmetic",
}  # fmt: skip
_EXIF_ORIENTATION = 0x0112
_TIFF_WIDTH, _TIFF_LENGTH = 0x0100, 0x0101


def displayed(width: int, height: int, orientation: int) -> tuple[int, int]:
    # Orientations 5..8 turn the picture by a quarter: the displayed sides swap.
    return (height, width) if orientation >= 5 else (width, height)


def parse_jpeg(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    pos = 2
    orientation = 1
    for _ in range(MAX_STEPS):
        if read_int("B", buf, pos) != 0xFF:
            raise CorruptHeader("jpeg", f"expected a marker at byte {pos}")
        while read_int("B", buf, pos) == 0xFF:  # fill bytes; the read stops at the end of `buf`
            pos += 1
        marker = read_int("B", buf, pos)
        pos += 1
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # markers without a length
            continue
        if marker in (0xD9, 0xDA) or marker == 0x00:
            raise CorruptHeader("jpeg", "the image data starts before any frame header (SOF)")
        length = read_int(">H", buf, pos)
        if length < 2:
            raise CorruptHeader("jpeg", f"segment at byte {pos} has length {length}")
        body, pos = pos + 2, pos + length
        if marker in _SOF_CODECS:
            precision, height, width, components = unpack(">BHHB", buf, body)
            if width == 0 or height == 0:
                raise CorruptHeader("jpeg", f"the frame header says {width}x{height} pixels")
            width, height = displayed(width, height, orientation)
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
            segment = read_bytes(buf, body, length - 2)
            if segment.startswith(b"Exif\x00\x00"):
                orientation = _exif_orientation(segment[6:])
    raise CorruptHeader("jpeg", f"no frame header (SOF) within {MAX_STEPS} segments")


def _exif_orientation(tiff: bytes) -> int:
    # Broken EXIF is common (editors rewrite it badly) and only costs us the rotation.
    try:
        value = _tiff_ifd0(tiff, len(tiff), "jpeg").get(_EXIF_ORIENTATION, 1)
    except (NeedMoreBytes, CorruptHeader):
        return 1
    return value if 1 <= value <= 8 else 1


def _tiff_ifd0(buf: bytes, size: int, fmt: str) -> dict[int, int]:
    """Width, length and orientation tags of a TIFF structure's first IFD."""
    order = {b"II": "<", b"MM": ">"}.get(buf[:2])
    if order is None:
        raise CorruptHeader(fmt, "the TIFF byte order mark is neither II nor MM")
    magic, ifd = unpack(order + "HI", buf, 2)
    if magic != 42:
        raise CorruptHeader(fmt, f"the TIFF version is {magic}, not 42")
    if ifd < 8 or ifd + 2 > size:
        raise CorruptHeader(fmt, f"the first IFD offset {ifd} is outside the file")
    tags: dict[int, int] = {}
    count = read_int(order + "H", buf, ifd)  # at most 65535 entries: a bounded loop
    for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
        tag, kind, n = unpack(order + "HHI", buf, entry)
        if tag in (_TIFF_WIDTH, _TIFF_LENGTH, _EXIF_ORIENTATION) and n >= 1:
            if kind == 3:  # SHORT, stored in the entry itself
                tags[tag] = read_int(order + "H", buf, entry + 8)
            elif kind == 4:  # LONG
                tags[tag] = read_int(order + "I", buf, entry + 8)
        if tag > _EXIF_ORIENTATION:  # entries are sorted by tag
            break
    return tags


def _tiff_ifd_chain(buf: bytes) -> None:
    """Follow the IFDs' next-IFD offsets through `buf`; a chain that comes back to an IFD
    already seen is corrupt (readers that trust it never reach the end)."""
    order = "<" if buf[:2] == b"II" else ">"
    seen: set[int] = set()
    ifd = read_int(order + "I", buf, 4)
    for _ in range(MAX_STEPS):
        if ifd == 0 or ifd + 2 > len(buf):
            return  # the end of the chain, or beyond the bytes given
        if ifd in seen:
            raise CorruptHeader("tiff", f"the chain of IFDs loops back to the IFD at byte {ifd}")
        seen.add(ifd)
        entries_end = ifd + 2 + 12 * read_int(order + "H", buf, ifd)
        if entries_end + 4 > len(buf):
            return
        ifd = read_int(order + "I", buf, entries_end)
    # A multi-page file may hold more pages than this walk follows: that is no fault of it.


def parse_tiff(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    tags = _tiff_ifd0(buf, size, "tiff")
    _tiff_ifd_chain(buf)
    width, height = tags.get(_TIFF_WIDTH, 0), tags.get(_TIFF_LENGTH, 0)
    if width == 0 or height == 0:
        raise CorruptHeader("tiff", f"the first IFD says {width}x{height} pixels")
    orientation = tags.get(_EXIF_ORIENTATION, 1)
    orientation = orientation if 1 <= orientation <= 8 else 1
    width, height = displayed(width, height, orientation)
    return replace(info, width=width, height=height, orientation=orientation)


_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def parse_png(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    length, chunk, width, height, depth, colour = unpack(">I4sIIBB", buf, 8)
    if chunk != b"IHDR" or length != 13:
        raise CorruptHeader("png", "the first chunk is not a 13-byte IHDR")
    if not (0 < width < 2**31 and 0 < height < 2**31):
        raise CorruptHeader("png", f"IHDR says {width}x{height} pixels")
    if colour not in _PNG_CHANNELS:
        raise CorruptHeader("png", f"IHDR has colour type {colour}")
    return replace(info, width=width, height=height, channels=_PNG_CHANNELS[colour], bits=depth)


def parse_gif(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    width, height = unpack("<HH", buf, 6)
    if width == 0 or height == 0:
        raise CorruptHeader("gif", f"the logical screen is {width}x{height} pixels")
    return replace(info, width=width, height=height)


def parse_webp(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    chunk = read_bytes(buf, 12, 4)
    body = 20
    if chunk == b"VP8 ":  # lossy: key frame tag, start code, 14-bit sizes
        if read_bytes(buf, body + 3, 3) != b"\x9d\x01\x2a":
            raise CorruptHeader("webp", "the VP8 key frame start code is missing")
        width, height = (v & 0x3FFF for v in unpack("<HH", buf, body + 6))
        codec = "lossy"
    elif chunk == b"VP8L":  # lossless: signature byte, then 14-bit sizes minus one
        if read_int("B", buf, body) != 0x2F:
            raise CorruptHeader("webp", "the VP8L signature is missing")
        bits = read_int("<I", buf, body + 1)
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        codec = "lossless"
    elif chunk == b"VP8X":  # extended: 24-bit canvas sizes minus one
        width = 1 + int.from_bytes(read_bytes(buf, body + 4, 3), "little")
        height = 1 + int.from_bytes(read_bytes(buf, body + 7, 3), "little")
        codec = "extended"
    else:
        raise CorruptHeader("webp", f"the first chunk is {chunk!r}, not VP8, VP8L or VP8X")
    if width == 0 or height == 0:
        raise CorruptHeader("webp", f"the bitstream says {width}x{height} pixels")
    return replace(info, width=width, height=height, codec=codec)


_BMP_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}


def is_bmp(head: bytes) -> bool:
    """The "BM" signature and a DIB header size that a bitmap can have ("BM" starts much text)."""
    return head[:2] == b"BM" and len(head) >= 18 and read_int("<I", head, 14) in _BMP_HEADER_SIZES


def parse_bmp(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    header = read_int("<I", buf, 14)
    if header == 12:  # OS/2 BITMAPCOREHEADER: unsigned 16-bit sizes
        width, height, planes, bits = unpack("<HHHH", buf, 18)
    else:  # BITMAPINFOHEADER and later: signed 32-bit, negative height = top-down rows
        width, height, planes, bits = unpack("<iiHH", buf, 18)
        height = abs(height)
    if width <= 0 or height == 0 or planes != 1:
        raise CorruptHeader("bmp", f"the header says {width}x{height} pixels, {planes} planes")
    return replace(info, width=width, height=height, bits=bits)
