"""ISO base media file format boxes (ISO/IEC 14496-12): the walker that HEIF images and MPEG-4
audio (M4A, 3GP) share.

A box is a 32-bit size and a four-character type, then its payload; a size of 1 means a 64-bit
size follows the type, and 0 means the box runs to the end of its container (or of the file).
"""

from __future__ import annotations

from collections.abc import Iterator

from inspector.errors import CorruptHeader
from inspector.sniffing.reading import MAX_STEPS, read_int, unpack


def box_header(buf: bytes, pos: int) -> tuple[bytes, int, int]:
    """(type, header length, size) of the box at `pos`; size 0 means "to the end"."""
    size, box = unpack(">I4s", buf, pos)
    if size == 1:
        return box, 16, read_int(">Q", buf, pos + 8)
    return box, 8, size


def boxes(buf: bytes, start: int, end: int, fmt: str) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) of the boxes in buf[start:end].

    `end` is where the container ends, which may lie past the bytes in `buf`: a header beyond
    them raises `NeedMoreBytes`, a box that claims to run past `end` is a `CorruptHeader`.
    """
    pos = start
    for _ in range(MAX_STEPS):
        if pos + 8 > end:
            return
        box, header, size = box_header(buf, pos)
        if size == 0:  # runs to the end of its container (or of the file)
            size = end - pos
        if size < header or pos + size > end:
            raise CorruptHeader(fmt, f"box {box!r} at byte {pos} has an impossible size {size}")
        yield box, pos + header, pos + size
        pos += size
    raise CorruptHeader(fmt, f"more than {MAX_STEPS} boxes in one container")


def box_name(box: bytes) -> str:
    """A box type as rejection reasons quote it: 'moov', not b'moov'."""
    return box.decode("latin-1")
