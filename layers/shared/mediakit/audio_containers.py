"""Which phone or recorder container a recording is in, from its first bytes: MPEG-4 (M4A),
3GP/3G2, CAF, raw ADTS AAC and AMR. Inspect names the format from it, and the audio function
chooses its decoder from it, so that both tell the containers apart the same way.

Only the first few dozen bytes are looked at; nothing here parses a header in depth (Inspect's
sniffing does that) or trusts a length beyond a bounds check.
"""

from __future__ import annotations

import struct

# The `ftyp` brands of 3GPP (TS 26.244, 3gp4..3gp9 and the 3gr/3gs/3ge/3gg profiles) and 3GPP2
# (C.S0050, 3g2a..3g2c). Every other `ftyp` file that is not a HEIF image is MPEG-4 family
# (M4A , M4B , mp41, mp42, isom, iso2.., qt  ...): what its tracks hold decides, not the brand.
_3GPP_PREFIXES = (b"3gp", b"3gr", b"3gs", b"3ge", b"3gg")
_3GPP2_PREFIX = b"3g2"
_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
    | {b"avif", b"avis", b"mif1", b"msf1", b"mif2"}
)

AMR_NB_MAGIC = b"#!AMR\n"
AMR_WB_MAGIC = b"#!AMR-WB\n"
# RFC 4867 section 5: the multichannel variants; recognised so that they are refused by name.
AMR_NB_MC_MAGIC = b"#!AMR_MC1.0\n"
AMR_WB_MC_MAGIC = b"#!AMR-WB_MC1.0\n"

# CAF codecs that libsndfile reads right; the others (ALAC, AAC) go to FFmpeg, since libsndfile
# refuses FFmpeg's ALAC CAF and mis-reads its own 24-bit ALAC (docs/decisions/audio-decoders.md).
LIBSNDFILE_CAF_FORMATS = frozenset({b"lpcm", b"ulaw", b"alaw"})

FFMPEG_CONTAINERS = frozenset({"mp4", "3gp", "3g2", "aac", "amr", "amr-wb"})
"""Containers whose audio only FFmpeg decodes (libsndfile reads none of them)."""


def iso_container(head: bytes) -> str | None:
    """ "3gp", "3g2" or "mp4" for an ISO base media file (`ftyp` first) that is not a HEIF
    image, by its major brand; None for anything else."""
    if head[4:8] != b"ftyp" or len(head) < 12:
        return None
    major = head[8:12]
    if major in _HEIF_BRANDS or _heif_compatible(head):
        return None
    if major.startswith(_3GPP_PREFIXES):
        return "3gp"
    if major.startswith(_3GPP2_PREFIX):
        return "3g2"
    return "mp4"


def _heif_compatible(head: bytes) -> bool:
    """A generic major brand whose compatible brands make it a HEIF image (as `mif1` files do)."""
    (ftyp_size,) = struct.unpack_from(">I", head, 0)
    end = min(ftyp_size, len(head))
    compatible = {head[i : i + 4] for i in range(16, end - 3, 4)}
    return head[8:12] in (b"isom", b"mp41", b"mp42") and bool(compatible & {b"mif1", b"msf1"})


def amr_container(head: bytes) -> str | None:
    """ "amr" (AMR-NB) or "amr-wb" by the storage format's magic (RFC 4867, section 5)."""
    if head.startswith((AMR_NB_MAGIC, AMR_NB_MC_MAGIC)):
        return "amr"
    if head.startswith((AMR_WB_MAGIC, AMR_WB_MC_MAGIC)):
        return "amr-wb"
    return None


def caf_format_id(head: bytes) -> bytes | None:
    """The codec of a CAF file (`desc` chunk's mFormatID: b"lpcm", b"alac", b"aac " ...), or
    None when `head` is not a CAF file whose first chunk is `desc`, as the spec requires."""
    if not head.startswith(b"caff") or head[8:12] != b"desc" or len(head) < 32:
        return None
    return head[28:32]


_ADTS_RATES = 13  # sampling frequency indexes 0..12 are rates; 13..15 are reserved/escape


def adts_frame_length(buf: bytes, pos: int) -> int:
    """The length of the ADTS frame whose header starts at `pos` (ISO/IEC 14496-3, 1.A.2.2),
    header included, or 0 when there is no valid header there."""
    if pos + 7 > len(buf) or buf[pos] != 0xFF or buf[pos + 1] & 0xF6 != 0xF0:
        return 0  # 12-bit sync, then layer "00": MPEG audio's layer bits are never 00
    if (buf[pos + 2] >> 2) & 0x0F >= _ADTS_RATES:
        return 0
    length = ((buf[pos + 3] & 0x03) << 11) | (buf[pos + 4] << 3) | (buf[pos + 5] >> 5)
    header = 7 if buf[pos + 1] & 0x01 else 9  # protection_absent = 0: a CRC follows
    return length if length > header else 0


def is_adts(head: bytes) -> bool:
    """A valid ADTS header at 0 or after an ID3v2 tag (which some recorders and taggers put in
    front), confirmed by the next frame's header when that is in `head`: sync words alone turn
    up in much other data."""
    start = _id3v2_length(head)
    length = adts_frame_length(head, start)
    if not length:
        return False
    return start + length + 7 > len(head) or adts_frame_length(head, start + length) > 0


def _id3v2_length(head: bytes) -> int:
    """Bytes of the ID3v2 tag at the start of `head` (10-byte header, syncsafe size, and a
    10-byte footer when flagged: id3.org's ID3v2.4 structure), 0 when there is none."""
    if not head.startswith(b"ID3") or len(head) < 10 or any(b & 0x80 for b in head[6:10]):
        return 0
    size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
    return 10 + size + (10 if head[5] & 0x10 else 0)


def ffmpeg_container(head: bytes) -> str | None:
    """The container of a recording that starts with `head` when the audio function decodes it
    with FFmpeg: "mp4", "3gp", "3g2", "aac" (ADTS), "amr", "amr-wb", or "caf" for CAF codecs
    that libsndfile cannot read right. None: libsndfile's (WAV, RIFX, FLAC, CAF PCM ...)."""
    container = iso_container(head) or amr_container(head) or ("aac" if is_adts(head) else None)
    if container is not None:
        return container
    format_id = caf_format_id(head)
    if format_id is not None and format_id not in LIBSNDFILE_CAF_FORMATS:
        return "caf"
    return None
