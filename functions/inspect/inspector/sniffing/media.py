"""What sniffing reports: `MediaInfo`, and the shape of a header parser."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Kind = Literal["image", "audio", "unknown"]

OCTET_STREAM = "application/octet-stream"
"""The content type of anything that is not a supported format."""


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
    duration_known: bool = True  # False: the header does not say (FLAC's 0, Ogg without its end)
    sample_rate: int = 0
    channels: int = 0  # audio channels, or colour components of an image
    bits: int = 0  # bits per sample (audio) or per colour component (image)
    codec: str = ""  # e.g. "baseline", "progressive", "lossless", "pcm", "vorbis", "opus"
    complete: bool = True  # False: identified, but the header runs past the bytes given
    # Incomplete, with the header continuing away from the bytes given: the byte range
    # [start, stop) to read next and pass to `sniff` as `tail` (see reading.NeedRange).
    next_read: tuple[int, int] | None = None
    looks_like: str = ""  # for unknown content: what the first bytes resemble

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def samples(self) -> int:
        """Samples the audio holds: duration x sample rate x channels (0 when not known)."""
        return round(self.duration_seconds * self.sample_rate) * self.channels


Parser = Callable[[bytes, int, bytes, MediaInfo], MediaInfo]
"""`parse(head, size, tail, info)`: `info` (kind, format and content type already set) filled
in from the header in `head`, the first bytes of a file of `size` bytes, and in `tail`, more of
its bytes when the format needs them: its last bytes (`Format.tail_bytes`), or the bytes from
the range it asked for by raising `NeedRange`. Raises `CorruptHeader`/`UnsupportedEncoding` for
what cannot be used, and `NeedMoreBytes` when the header runs past the bytes given."""
