"""Header parser of MPEG-4 audio (M4A, M4B, MP4) and 3GPP/3GPP2 (3GP, 3G2): ISO/IEC 14496-12
boxes, with 14496-14's `esds` and 3GPP TS 26.244's `samr`/`sawb` sample entries.

The brand says little (an `isom` or `mp42` file may hold anything): the tracks in the `moov`
box decide (mp4_tracks.py reads them). A file with a video track is refused, whatever else it
holds; the first audio track must hold AAC, ALAC or AMR.

Where the `moov` box is decides what is read:
- before the media data (`-movflags +faststart`): in the head. What Inspect needs of each track
  (handler, `mdhd`, first sample entry) comes before the sample tables, so the head usually
  holds it even when the box is larger; otherwise the rest of the box is asked for.
- after the media data (FFmpeg's default, and most recorders'): the top-level walk in the head
  ends at a box that runs past it, whose size gives the offset of the next one. The parser
  asks for the bytes there (`NeedRange`): the first 64 KiB, then, if the `moov` box found
  there is longer and the tracks are not all read, the rest of it, sized from its header.
In both cases at most `MOOV_READ_LIMIT` bytes of the box are read; a longer one is refused.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NoReturn

from inspector.errors import CorruptHeader, UnsupportedEncoding
from inspector.sniffing.audio import check_audio
from inspector.sniffing.isobmff import box_header, box_name
from inspector.sniffing.media import MediaInfo
from inspector.sniffing.mp4_tracks import Movie, read_moov
from inspector.sniffing.reading import MAX_STEPS, NeedMoreBytes, NeedRange

MOOV_READ_LIMIT = 1024 * 1024
"""The most of a `moov` box Inspect reads. FFmpeg's is 1.3 KB for 3 s of AAC and 676 KB for
60 minutes, nearly all of it the sample size table, which comes after what Inspect reads."""
_FIRST_READ = 65536  # where the moov box is not yet known: its header and its first tracks


def parse_mp4(buf: bytes, size: int, tail: bytes, info: MediaInfo) -> MediaInfo:
    fmt = info.format
    moov = _MoovBytes.find(buf, size, tail, fmt)
    try:
        movie = read_moov(moov.data, moov.payload, moov.end, fmt)
    except NeedMoreBytes:
        moov.ask_for_more(fmt)
    return _audio_info(info, movie, fmt)


class _MoovBytes:
    """The bytes of the file from a known offset on (the head and the range read after it, or
    the ranges read after the head alone), and where the `moov` box lies in them."""

    def __init__(self, data: bytes, offset: int, moov: tuple[int, int], limit: int) -> None:
        moov_at, moov_size = moov
        self.offset = offset  # the file offset of data[0]
        self.start = moov_at - offset  # the box's header, in data
        self.payload = self.start + box_header(data, self.start)[1]
        self.end = self.start + moov_size  # may lie past the bytes read
        self.limit = limit  # the file offset past which nothing more is read
        # Nothing past the box is read as part of it: a field that runs past its end is corrupt.
        self.data = data[: self.end]

    @classmethod
    def find(cls, buf: bytes, size: int, tail: bytes, fmt: str) -> _MoovBytes:
        """The `moov` box of a file of `size` bytes that starts with `buf`. `tail` continues
        `buf` when the box starts in it, else it starts where the first box past `buf` does."""
        pos, moov_size = _walk(buf, 0, 0, size, fmt)
        if moov_size:
            return cls(buf + tail, 0, (pos, moov_size), pos + MOOV_READ_LIMIT)
        gap = pos  # the box after the media data: the bytes asked for start there
        limit = min(size, gap + MOOV_READ_LIMIT)
        pos, moov_size = _walk(tail, gap, gap, size, fmt)
        if moov_size:
            return cls(tail, gap, (pos, moov_size), limit)
        if pos + 8 > limit:
            raise UnsupportedEncoding(
                fmt, f"no 'moov' box (the track list) in the {limit - gap} bytes after its media"
            )
        raise NeedRange(gap + len(tail), limit if tail else min(limit, gap + _FIRST_READ))

    def ask_for_more(self, fmt: str) -> NoReturn:
        """Raise `NeedRange` for more of the box, or refuse one longer than Inspect reads."""
        if len(self.data) >= self.end:
            raise CorruptHeader(fmt, "a box inside 'moov' is shorter than its fields")
        start = self.offset + len(self.data)
        stop = min(self.offset + self.end, self.limit)
        if start >= stop:
            raise UnsupportedEncoding(
                fmt,
                f"its 'moov' box (the track list) is {self.end - self.start} bytes, more than "
                f"Inspect reads ({MOOV_READ_LIMIT} bytes)",
            )
        raise NeedRange(start, stop)


def _walk(data: bytes, offset: int, pos: int, size: int, fmt: str) -> tuple[int, int]:
    """(file offset, size) of the `moov` box, walking the top-level boxes in `data` (bytes at
    file offset `offset`) from file offset `pos`; (offset, 0) of the first box whose header is
    past `data` when that comes first. Every box must end within the file: a truncated copy
    is refused here."""
    for _ in range(MAX_STEPS):
        if pos >= size:
            raise CorruptHeader(
                fmt, "there is no 'moov' box (the writer stopped before finishing the file?)"
            )
        try:
            box, header, box_size = box_header(data, pos - offset)
        except NeedMoreBytes:
            if offset + len(data) >= size:
                raise CorruptHeader(fmt, "the file ends inside a box header") from None
            return pos, 0
        box_size = box_size or size - pos  # 0: the box runs to the end of the file
        _check_fits(box, pos, header, box_size, size, fmt)
        if box == b"moov":
            _check_rest_fits(data, offset, pos + box_size, size, fmt)
            return pos, box_size
        pos += box_size
    raise CorruptHeader(fmt, f"more than {MAX_STEPS} top-level boxes")


def _check_rest_fits(data: bytes, offset: int, pos: int, size: int, fmt: str) -> None:
    """The boxes after `moov`, as far as their headers were read, end within the file: the
    media data of a faststart file cut short would otherwise pass unnoticed."""
    for _ in range(MAX_STEPS):
        at = pos - offset
        if pos >= size or at + 16 > len(data):
            return
        box, header, box_size = box_header(data, at)
        box_size = box_size or size - pos
        _check_fits(box, pos, header, box_size, size, fmt)
        pos += box_size


def _check_fits(box: bytes, pos: int, header: int, box_size: int, size: int, fmt: str) -> None:
    if box_size < header:
        raise CorruptHeader(fmt, f"box '{box_name(box)}' at byte {pos} is {box_size} bytes")
    if pos + box_size > size:
        raise CorruptHeader(
            fmt,
            f"the file ends {pos + box_size - size} bytes before the end of its "
            f"'{box_name(box)}' box (it looks truncated)",
        )


def _audio_info(info: MediaInfo, movie: Movie, fmt: str) -> MediaInfo:
    audio = movie.audio
    check_audio(fmt, audio.channels, audio.sample_rate)
    return replace(
        info,
        duration_seconds=movie.duration_seconds,
        duration_known=movie.duration_seconds > 0,
        sample_rate=audio.sample_rate,
        channels=audio.channels,
        bits=audio.bits,
        codec=audio.codec,
    )
