"""The media types Mediaflow accepts: one allow-list for the HTTP API, which lets a device
declare only these `Content-Type`s (and names the upload's file after the type's extension),
and for Inspect's format registry (`inspector/sniffing/formats.py`), whose every line takes its
content type and kind from here, so that the two can never disagree.

To accept a new type, add it here and give Inspect a format line that uses it
(tests/unit/test_api_media_types.py fails while one side has what the other lacks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MediaKind = Literal["image", "audio"]


@dataclass(frozen=True)
class MediaType:
    content_type: str
    """The media type, lower case, without parameters: what S3 stores as `Content-Type`."""
    kind: MediaKind
    """Which branch of the workflow processes it, and which size limit applies."""
    extension: str
    """The file extension of the key the API chooses for an upload of this type."""


JPEG = MediaType("image/jpeg", "image", ".jpg")
PNG = MediaType("image/png", "image", ".png")
GIF = MediaType("image/gif", "image", ".gif")
WEBP = MediaType("image/webp", "image", ".webp")
TIFF = MediaType("image/tiff", "image", ".tiff")
BMP = MediaType("image/bmp", "image", ".bmp")
HEIC = MediaType("image/heic", "image", ".heic")
AVIF = MediaType("image/avif", "image", ".avif")
HEIF = MediaType("image/heif", "image", ".heif")
WAV = MediaType("audio/wav", "audio", ".wav")
FLAC = MediaType("audio/flac", "audio", ".flac")
OGG = MediaType("audio/ogg", "audio", ".ogg")
AIFF = MediaType("audio/aiff", "audio", ".aiff")
AU = MediaType("audio/basic", "audio", ".au")
MP3 = MediaType("audio/mpeg", "audio", ".mp3")
# What phones and field recorders write: AAC or ALAC in MPEG-4 (iOS voice memos, Android), AAC
# or AMR in 3GPP/3GPP2, raw ADTS AAC, Apple's CAF, and AMR's own storage format (RFC 4867).
MP4 = MediaType("audio/mp4", "audio", ".m4a")
THREE_GPP = MediaType("audio/3gpp", "audio", ".3gp")
THREE_GPP2 = MediaType("audio/3gpp2", "audio", ".3g2")
AAC = MediaType("audio/aac", "audio", ".aac")
CAF = MediaType("audio/x-caf", "audio", ".caf")
AMR = MediaType("audio/amr", "audio", ".amr")
AMR_WB = MediaType("audio/amr-wb", "audio", ".awb")

MEDIA_TYPES: dict[str, MediaType] = {
    entry.content_type: entry
    for entry in (
        *(JPEG, PNG, GIF, WEBP, TIFF, BMP, HEIC, AVIF, HEIF),
        *(WAV, FLAC, OGG, AIFF, AU, MP3, MP4, THREE_GPP, THREE_GPP2, AAC, CAF, AMR, AMR_WB),
    )
}
"""Every accepted type, by its content type."""


def find_media_type(content_type: str) -> MediaType | None:
    """The allow-list's entry for `content_type` (compared without regard to case, as media
    types are: RFC 9110, section 8.3.1), or None when it is not accepted."""
    return MEDIA_TYPES.get(content_type.strip().lower())
