"""HEIF, HEIC and AVIF: which one an ISO-BMFF file is (its brands), and its header parser.

The primary item's size is its `ispe` property, found through meta/pitm (which item),
meta/iprp/ipma (its properties) and meta/iprp/ipco (the list); its `clap` crop, then its
`irot` rotation, give the size as displayed. A writer may put `meta` after the pixel data
(`mdat`), past any fixed window: then the read stops with `NeedMoreBytes`.
"""

from __future__ import annotations

import struct
from dataclasses import replace

from inspector.errors import CorruptHeader
from inspector.sniffing.images import displayed
from inspector.sniffing.isobmff import boxes
from inspector.sniffing.media import MediaInfo
from inspector.sniffing.reading import read_int, unpack

_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_AVIF_BRANDS = {b"avif", b"avis"}
_GENERIC_HEIF_BRANDS = {b"mif1", b"msf1", b"mif2"}


def brand_format(head: bytes) -> str | None:
    """Which format an `ftyp` file holds: "heic" (HEVC inside), "avif" (AV1) or "heif" (another
    codec); None when it is not a file of still images (MP4 video and M4A audio have `ftyp` too).
    """
    if head[4:8] != b"ftyp":
        return None
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
        return "avif"
    if major in _HEIC_BRANDS:
        return "heic"
    if major in _GENERIC_HEIF_BRANDS:
        return "heif"
    return None


_IROT_ORIENTATION = {0: 1, 1: 8, 2: 3, 3: 6}  # quarter turns anti-clockwise -> EXIF value


def parse_heif(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    for box, start, end in boxes(buf, 0, size, info.format):
        if box == b"meta":  # a FullBox: version and flags come first
            width, height, rotation = _primary_size(buf, start + 4, end, info.format)
            orientation = _IROT_ORIENTATION[rotation]
            width, height = displayed(width, height, orientation)
            return replace(info, width=width, height=height, orientation=orientation)
    raise CorruptHeader(info.format, "there is no 'meta' box")


def _primary_size(buf: bytes, start: int, end: int, fmt: str) -> tuple[int, int, int]:
    primary: int | None = None
    properties: list[tuple[bytes, int, int]] = []
    associations: dict[int, list[int]] = {}
    for box, s, e in boxes(buf, start, end, fmt):
        if box == b"pitm":
            primary = read_int(">H" if read_int("B", buf, s) == 0 else ">I", buf, s + 4)
        elif box == b"iprp":
            for child, cs, ce in boxes(buf, s, e, fmt):
                if child == b"ipco":
                    properties = list(boxes(buf, cs, ce, fmt))
                elif child == b"ipma":
                    _read_ipma(buf, cs, ce, fmt, associations)
    if primary in associations:
        indexes = associations[primary]
        mine = [properties[i - 1] for i in indexes if 0 < i <= len(properties)]
    else:  # no usable pitm/ipma: fall back to the largest image described
        mine = properties
    sizes = [tuple(unpack(">II", buf, s + 4)) for box, s, _ in mine if box == b"ispe"]
    if not sizes:
        raise CorruptHeader(fmt, "the primary image has no size property (ispe)")
    width, height = max(sizes, key=lambda wh: wh[0] * wh[1])
    for box, s, _ in mine:
        if box == b"clap":  # encoders pad odd sizes (4:2:0) and crop with a clean aperture
            width_n, width_d, height_n, height_d = unpack(">IIII", buf, s)
            if width_d and height_d:
                width = min(width, (2 * width_n + width_d) // (2 * width_d))
                height = min(height, (2 * height_n + height_d) // (2 * height_d))
    if width == 0 or height == 0:
        raise CorruptHeader(fmt, f"the primary image is {width}x{height} pixels")
    rotation = next((read_int("B", buf, s) & 3 for box, s, _ in mine if box == b"irot"), 0)
    return width, height, rotation


def _read_ipma(buf: bytes, start: int, end: int, fmt: str, into: dict[int, list[int]]) -> None:
    version, flags = read_int("B", buf, start), read_int(">I", buf, start) & 0xFFFFFF
    count = read_int(">I", buf, start + 4)
    id_fmt, index_fmt = (">H" if version < 1 else ">I"), (">H" if flags & 1 else "B")
    index_mask = 0x7FFF if flags & 1 else 0x7F  # the top bit marks "essential"
    pos = start + 8
    if count > (end - pos) // (struct.calcsize(id_fmt) + 1):
        raise CorruptHeader(fmt, f"ipma claims {count} entries in {end - pos} bytes")
    for _ in range(count):
        item = read_int(id_fmt, buf, pos)
        pos += struct.calcsize(id_fmt)
        n = read_int("B", buf, pos)
        pos += 1
        for _ in range(n):
            into.setdefault(item, []).append(read_int(index_fmt, buf, pos) & index_mask)
            pos += struct.calcsize(index_fmt)
