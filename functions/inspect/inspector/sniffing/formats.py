"""The format registry: every media format Mediaflow accepts, one line each, in `FORMATS`.

A line says everything the rest of the system knows about a format: its `name` (the record's
`format`), its `label` (what rejection reasons call it), its `content_type` (the record's
`contentType`), its `kind` (which branch of the workflow processes it), how its first bytes
are recognised (`matches`) and which parser reads its header (`parse`). Its content type and
kind come from `mediakit.media_types`, the allow-list the HTTP API accepts uploads from.

To add a format:
1. write its header parser, a `Parser` (see media.py), in a module of this package named for
   the format or its family, reading bytes only through reading.py;
2. add its line to `FORMATS`, before any format whose magic bytes could also match it, with
   its content type added to `mediakit.media_types` (the API then accepts uploads of it);
3. give tests/unit/test_sniffing.py a sample of it (`test_every_registered_format_...` fails
   until there is one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mediakit.audio_containers import amr_container, caf_format_id, is_adts, iso_container
from mediakit.media_types import (
    AAC,
    AIFF,
    AMR,
    AMR_WB,
    AU,
    AVIF,
    BMP,
    CAF,
    FLAC,
    GIF,
    HEIC,
    HEIF,
    JPEG,
    MP3,
    MP4,
    OGG,
    PNG,
    THREE_GPP,
    THREE_GPP2,
    TIFF,
    WAV,
    WEBP,
)

from inspector.sniffing import adts, amr, audio, caf, heif, images, mp3, mp4, ogg
from inspector.sniffing.media import Kind, MediaInfo, Parser


@dataclass(frozen=True)
class Format:
    name: str
    """The record's `format`: short, lower case, stable (records and tests match on it)."""
    label: str
    """What a person calls the format, in rejection reasons ("WebP header is invalid: ...")."""
    content_type: str
    """The record's `contentType`: the media type of every file of this format."""
    kind: Kind
    """Which branch of the workflow processes it: "image" or "audio"."""
    matches: Callable[[bytes], bool]
    """True when the first bytes of a file (a few dozen are enough) are of this format."""
    parse: Parser
    """Reads the header: dimensions or duration, and what else it says."""
    tail_bytes: int = 0
    """How many of the file's last bytes the parser needs as `tail` (Ogg's last page)."""

    def media(self) -> MediaInfo:
        """What is known before the header is read: the format itself."""
        return MediaInfo(self.kind, self.name, self.content_type)


def _starts_with(*magics: bytes) -> Callable[[bytes], bool]:
    return lambda head: head.startswith(magics)


def _iso_brand(name: str) -> Callable[[bytes], bool]:
    return lambda head: heif.brand_format(head) == name


def _container(which: Callable[[bytes], str | None], name: str) -> Callable[[bytes], bool]:
    """Recognised as the audio function recognises it (mediakit.audio_containers)."""
    return lambda head: which(head) == name


# The order of identification: the first format that matches is the file's. Formats with a
# distinctive signature come first; MP3's frame sync, the weakest, comes last.
FORMATS: tuple[Format, ...] = (
    Format("jpeg", "JPEG", JPEG.content_type, JPEG.kind,
           _starts_with(b"\xff\xd8\xff"), images.parse_jpeg),
    Format("png", "PNG", PNG.content_type, PNG.kind,
           _starts_with(b"\x89PNG\r\n\x1a\n"), images.parse_png),
    Format("gif", "GIF", GIF.content_type, GIF.kind,
           _starts_with(b"GIF87a", b"GIF89a"), images.parse_gif),
    Format("webp", "WebP", WEBP.content_type, WEBP.kind,
           lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP", images.parse_webp),
    Format("wav", "WAV", WAV.content_type, WAV.kind,
           lambda head: head[:4] in (b"RIFF", b"RIFX", b"RF64", b"BW64") and head[8:12] == b"WAVE",
           audio.parse_wav),
    Format("tiff", "TIFF", TIFF.content_type, TIFF.kind,
           _starts_with(b"II*\x00", b"MM\x00*"), images.parse_tiff),
    Format("bmp", "BMP", BMP.content_type, BMP.kind, images.is_bmp, images.parse_bmp),
    # HEIC (what iPhones write), AVIF and other HEIF are one container with different codecs.
    Format("heic", "HEIC", HEIC.content_type, HEIC.kind, _iso_brand("heic"), heif.parse_heif),
    Format("avif", "AVIF", AVIF.content_type, AVIF.kind, _iso_brand("avif"), heif.parse_heif),
    Format("heif", "HEIF", HEIF.content_type, HEIF.kind, _iso_brand("heif"), heif.parse_heif),
    # Every other ISO base media file, by its brand; its tracks decide whether it is audio.
    Format("mp4", "MPEG-4 audio", MP4.content_type, MP4.kind,
           _container(iso_container, "mp4"), mp4.parse_mp4),
    Format("3gp", "3GPP", THREE_GPP.content_type, THREE_GPP.kind,
           _container(iso_container, "3gp"), mp4.parse_mp4),
    Format("3g2", "3GPP2", THREE_GPP2.content_type, THREE_GPP2.kind,
           _container(iso_container, "3g2"), mp4.parse_mp4),
    Format("caf", "CAF", CAF.content_type, CAF.kind,
           lambda head: caf_format_id(head) is not None, caf.parse_caf),
    Format("amr", "AMR", AMR.content_type, AMR.kind,
           _container(amr_container, "amr"), amr.parse_amr),
    Format("amr-wb", "AMR-WB", AMR_WB.content_type, AMR_WB.kind,
           _container(amr_container, "amr-wb"), amr.parse_amr),
    Format("flac", "FLAC", FLAC.content_type, FLAC.kind, audio.is_flac, audio.parse_flac),
    Format("ogg", "Ogg", OGG.content_type, OGG.kind,
           _starts_with(b"OggS"), ogg.parse_ogg, tail_bytes=ogg.TAIL_BYTES),
    Format("aiff", "AIFF", AIFF.content_type, AIFF.kind,
           lambda head: head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"),
           audio.parse_aiff),
    Format("au", "AU", AU.content_type, AU.kind, _starts_with(b".snd"), audio.parse_au),
    # ADTS's sync word is MP3's frame sync with layer bits 00, which MP3 forbids: before MP3.
    Format("aac", "AAC (ADTS)", AAC.content_type, AAC.kind, is_adts, adts.parse_adts),
    Format("mp3", "MP3", MP3.content_type, MP3.kind, mp3.is_mp3, mp3.parse_mp3),
)  # fmt: skip

_BY_NAME = {entry.name: entry for entry in FORMATS}


def identify(head: bytes) -> Format | None:
    """The format of a file that starts with `head`, or None when it is none of `FORMATS`."""
    return next((entry for entry in FORMATS if entry.matches(head)), None)


def find(name: str) -> Format | None:
    """The registry's line for a format name."""
    return _BY_NAME.get(name)
