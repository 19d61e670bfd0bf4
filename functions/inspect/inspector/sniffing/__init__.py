"""Identify an upload from its first bytes and read its header, without decoding any media.

`sniff(head, size)` looks at magic bytes, never at the name or the declared type, and reads
dimensions (images) or duration (audio) from the header alone. Every read is bounds-checked
against the bytes given and every loop has a fixed bound, so hostile or truncated input ends
in `MediaInfo` or in an `UnusableHeader` (`CorruptHeader`, `UnsupportedEncoding`), nothing else.

What the header cannot say is reported as 0 (see `MediaInfo`); each parser's module says when
that happens for its formats. Unknown content gets a description of what it resembles.

The package, by job:
- formats.py   the registry: one line per format (name, label, content type, kind, magic
               bytes, parser). Adding a format starts there.
- reading.py   bounds-checked reads, the only way parsers touch the bytes
- images.py, heif.py, audio.py, ogg.py, mp3.py, id3.py, mp4.py, caf.py, adts.py, amr.py
               the header parsers; isobmff.py (boxes of HEIF and MP4), mpeg4_audio.py (AAC's
               configuration in MP4, CAF and ADTS) what several of them share
- unknown.py   what unknown content looks like (`describe`)
"""

from __future__ import annotations

from dataclasses import replace

from inspector.errors import CorruptHeader
from inspector.sniffing.formats import FORMATS, Format, find, identify
from inspector.sniffing.media import OCTET_STREAM, Kind, MediaInfo
from inspector.sniffing.reading import NeedMoreBytes, NeedRange
from inspector.sniffing.unknown import describe

__all__ = [
    "FORMATS",
    "OCTET_STREAM",
    "Format",
    "Kind",
    "MediaInfo",
    "content_type_of",
    "describe",
    "label_of",
    "sniff",
    "tail_bytes_of",
]


def sniff(head: bytes, size: int | None = None, tail: bytes = b"") -> MediaInfo:
    """Identify `head`, the first bytes of an object of `size` bytes, and read its header.

    `size` defaults to `len(head)`, i.e. `head` is the whole file. `tail` holds the file's
    last bytes, for the formats that need them (`tail_bytes_of`), or the bytes read at the
    ranges an earlier result asked for (`MediaInfo.next_read`, one run from the first range's
    start). Raises `UnusableHeader` for a recognised format whose header is truncated,
    impossible or uses an unsupported encoding.
    """
    size = len(head) if size is None else max(size, len(head))
    found = identify(head)
    if found is None:
        return MediaInfo("unknown", "unknown", OCTET_STREAM, looks_like=describe(head))
    info = found.media()
    try:
        return found.parse(head, size, tail, info)
    except NeedRange as wanted:  # the header goes on elsewhere in the file (an MP4's moov)
        return replace(info, complete=False, next_read=(wanted.start, wanted.stop))
    except NeedMoreBytes:
        if len(head) >= size:
            raise CorruptHeader(
                info.format,
                f"the file ends inside its header after {size} bytes (it looks truncated)",
            ) from None
        return replace(info, complete=False)


def content_type_of(fmt: str) -> str:
    """The media type of a format name, for verdicts where the header could not be read."""
    entry = find(fmt)
    return entry.content_type if entry else OCTET_STREAM


def label_of(fmt: str) -> str:
    """What a person calls a format, for rejection reasons ("WebP", not "webp")."""
    entry = find(fmt)
    return entry.label if entry else fmt


def tail_bytes_of(fmt: str) -> int:
    """How many of a file's last bytes `sniff` needs as `tail` for this format (0: none)."""
    entry = find(fmt)
    return entry.tail_bytes if entry else 0
