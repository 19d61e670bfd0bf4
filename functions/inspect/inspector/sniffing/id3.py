"""ID3v2 tags: taggers put them in front of MP3 and FLAC alike, so both formats skip them."""

from __future__ import annotations

from inspector.errors import CorruptHeader
from inspector.sniffing.reading import read_bytes, unpack

_MAX_TAGS = 8  # some taggers stack several tags


def audio_start(buf: bytes, size: int, fmt: str) -> int:
    """Where the audio starts in a file of `size` bytes beginning with `buf`: past its ID3v2
    tags, or 0 when it has none. `fmt` names the format in a `CorruptHeader`."""
    pos = 0
    for _ in range(_MAX_TAGS):
        if read_bytes(buf, pos, 3) != b"ID3":
            break
        flags, *syncsafe = unpack(">B4B", buf, pos + 5)
        if any(b & 0x80 for b in syncsafe):
            raise CorruptHeader(fmt, "the ID3v2 tag size is not a syncsafe integer")
        tag_size = sum(b << (7 * (3 - i)) for i, b in enumerate(syncsafe))
        pos += 10 + tag_size + (10 if flags & 0x10 else 0)  # 0x10: a footer follows
        if pos >= size:
            raise CorruptHeader(fmt, "the ID3v2 tag runs to the end of the file")
    return pos
