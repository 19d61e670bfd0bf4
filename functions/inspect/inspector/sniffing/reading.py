"""Bounds-checked reads: the only way the header parsers touch the bytes.

Every read checks the bytes it needs against the buffer it reads from. A read past the end
raises `NeedMoreBytes`, which `sniff` turns into "incomplete" (the header continues past the
bytes read from S3) or "truncated" (the file itself ends there); nothing else can index out
of range, so hostile or truncated input ends in a verdict, never in an `IndexError`.
"""

from __future__ import annotations

import struct
from typing import Any

# Bounds on header walks: real files need a few dozen steps, hostile ones get a clear error.
MAX_STEPS = 4096


class NeedMoreBytes(Exception):
    """The header continues past the bytes given."""


class NeedRange(NeedMoreBytes):
    """The header continues at bytes [start, stop) of the file, away from the bytes given (an
    MPEG-4 `moov` box after the media data): `sniff` reports the range, its caller reads it and
    gives it back as `tail`. Each range a parser asks for continues the `tail` it was given, so
    that `tail` is always one run of bytes from where the parser first asked."""

    def __init__(self, start: int, stop: int) -> None:
        super().__init__(f"bytes {start}..{stop}")
        self.start = start
        self.stop = stop


def unpack(fmt: str, buf: bytes, offset: int) -> tuple[Any, ...]:
    """`struct.unpack_from(fmt, buf, offset)`, or `NeedMoreBytes` when `buf` is too short."""
    if offset < 0 or offset + struct.calcsize(fmt) > len(buf):
        raise NeedMoreBytes
    return struct.unpack_from(fmt, buf, offset)


def read_int(fmt: str, buf: bytes, offset: int) -> int:
    """The one integer `fmt` describes, at `offset`."""
    return int(unpack(fmt, buf, offset)[0])


def read_bytes(buf: bytes, offset: int, length: int) -> bytes:
    """Exactly `length` bytes at `offset`."""
    if offset < 0 or length < 0 or offset + length > len(buf):
        raise NeedMoreBytes
    return buf[offset : offset + length]
