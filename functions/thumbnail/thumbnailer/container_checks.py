"""Checks on an image file's structure that Pillow does not make, run before it decodes.

Each walks the container (chunks, blocks, the last bytes), never the pixels, with every loop
bounded by the file's length. Each returns what it found; `thumbnails` decides what to refuse.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import IO

# A ZIP's end-of-central-directory record: 22 bytes and a comment of at most 65535 bytes, at
# the very end of the file, where every ZIP reader (and Java's JAR loader) looks for it.
_ZIP_EOCD = b"PK\x05\x06"
_ZIP_EOCD_SIZE = 22
_ZIP_TAIL = _ZIP_EOCD_SIZE + 0xFFFF

_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def zip_trailer(stream: IO[bytes]) -> int | None:
    """The offset of a ZIP end-of-central-directory record that ends the file, if any.

    A file with one is also a ZIP archive (a JAR, a DOCX, an APK...) to any tool that opens
    it as such: an image/archive polyglot.
    """
    size = stream.seek(0, 2)
    start = max(0, size - _ZIP_TAIL)
    stream.seek(start)
    tail = stream.read()
    found = tail.rfind(_ZIP_EOCD)
    while found >= 0:
        if found + _ZIP_EOCD_SIZE <= len(tail):
            (comment,) = struct.unpack_from("<H", tail, found + 20)
            # The record's comment must end exactly at the end of the file, as ZIP readers
            # require: four bytes that merely look like the signature do not count.
            if found + _ZIP_EOCD_SIZE + comment == len(tail):
                return start + found
        found = tail.rfind(_ZIP_EOCD, 0, found)
    return None


def gif_frames(stream: IO[bytes], limit: int) -> int:
    """The number of frames (image descriptors) of a GIF, counted up to `limit` + 1.

    Walks the blocks without decoding any: extensions and image data are chains of sub-blocks
    of at most 255 bytes, each led by its length. Stops at the trailer, the end of the file,
    or a byte that starts no block (Pillow then decides what the file is worth).
    """
    stream.seek(0)
    data = memoryview(stream.read())
    if len(data) < 13:
        return 0
    pos = 13
    if data[10] & 0x80:  # a global colour table follows the logical screen descriptor
        pos += 3 << ((data[10] & 7) + 1)
    frames = 0
    end = len(data)
    while pos < end and frames <= limit:
        introducer = data[pos]
        if introducer == 0x21:  # extension: label, then sub-blocks
            pos += 2
        elif introducer == 0x2C:  # image descriptor, local colour table, LZW code size
            if pos + 10 > end:
                break
            flags = data[pos + 9]
            local_table = 3 << ((flags & 7) + 1) if flags & 0x80 else 0
            pos += 10 + local_table + 1
            frames += 1
        else:  # the trailer (0x3B), or something that is no GIF block
            break
        while pos < end and data[pos]:  # sub-blocks, until the zero-length terminator
            pos += data[pos] + 1
        pos += 1
    return frames


@dataclass(frozen=True)
class PngLayout:
    """What the chunks of a PNG say about its size, without inflating anything."""

    width: int
    height: int
    pixel_data_bytes: int
    """The compressed bytes of the default image: the sum of the IDAT chunks' lengths."""
    most_pixel_data_bytes: int
    """The most compressed data that `width` x `height` pixels can need: their raw scanlines,
    stored without compression, with zlib's and deflate's framing."""
    declared_frames: int
    """The frame count of an APNG's acTL chunk; 1 for a still image."""
    largest_exif_bytes: int
    """The length of the largest eXIf chunk; 0 when there is none."""


def png_layout(stream: IO[bytes]) -> PngLayout | None:
    """The chunks' account of a PNG; None when there is no IHDR to start from."""
    stream.seek(8)
    header = stream.read(8 + 13)
    if len(header) < 21 or header[4:8] != b"IHDR":
        return None
    width, height, depth, colour = struct.unpack(">IIBB", header[8:18])
    size = stream.seek(0, 2)
    pos = 8 + 12 + 13  # after the signature and IHDR
    idat = 0
    frames = 1
    exif = 0
    # Every chunk takes at least 12 bytes, so this ends after at most size / 12 steps.
    while pos + 8 <= size:
        stream.seek(pos)
        length, kind = struct.unpack(">I4s", stream.read(8))
        if kind == b"IDAT":
            idat += length
        elif kind == b"acTL" and length >= 4:
            (frames,) = struct.unpack(">I", stream.read(4))
        elif kind == b"eXIf":
            exif = max(exif, length)
        elif kind == b"IEND":
            break
        pos += 12 + length
    bits_per_pixel = depth * _PNG_CHANNELS.get(colour, 4)
    # Raw scanlines each start with a filter byte; Adam7 interlacing splits the image into
    # seven passes of shorter rows, which at most doubles the filter bytes and the rounding.
    raw = -(-width * height * bits_per_pixel // 8) + 4 * height + 16
    # Deflate's stored blocks add 5 bytes per 65535, zlib 6 bytes: allow twice as much.
    most = raw + 10 * (raw // 65535 + 1) + 12
    return PngLayout(width, height, idat, most, frames, exif)
