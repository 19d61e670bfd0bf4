"""MPEG-4 audio's configuration, shared by MP4/3GP (`mp4a` sample entries), CAF (`aac ` magic
cookies) and ADTS: the ES descriptors that carry it (ISO/IEC 14496-1, 7.2.6), the
AudioSpecificConfig itself (ISO/IEC 14496-3, 1.6.2.1) and the names Inspect gives AAC's
audio object types.

HE-AAC adds SBR (a doubled output rate) and HE-AACv2 adds PS (stereo from a mono core) on top
of an AAC-LC core. Signalled explicitly (object type 5 or 29 first, or the backward-compatible
sync extension after the core's configuration), the output rate and channels are reported.
Signalled implicitly (an AAC-LC configuration, SBR found only in the stream, as in ADTS and in
many remuxed files), nothing in the header says so: Inspect then reports what the header says,
AAC-LC at the core rate (half the decoder's output rate) and the core's channels (1 for
HE-AACv2, which decodes to 2). The duration is right either way: it counts core frames.
"""

from __future__ import annotations

from dataclasses import dataclass

from inspector.errors import CorruptHeader, UnsupportedEncoding
from inspector.sniffing.reading import read_bytes, read_int

AAC_RATES = (
    *(96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000),
    7350,
)
"""The sampling frequency index's rates (14496-3 table 1.18); 13 and 14 are reserved."""

SAMPLES_PER_FRAME = 1024
"""Samples of one AAC (core) frame, at the core rate."""

# Audio object type -> Inspect's codec name, for the AAC types FFmpeg's decoder reads: Main,
# LC, LTP, SBR (HE-AAC), ER AAC LD, PS (HE-AACv2), ER AAC ELD and USAC (xHE-AAC).
_AAC_CODECS = {1: "aac", 2: "aac-lc", 4: "aac", 5: "he-aac", 23: "aac", 29: "he-aac-v2"}
_AAC_CODECS |= {39: "aac", 42: "aac"}
_OTHER_OBJECT_TYPES = {
    3: "AAC SSR", 6: "AAC scalable", 8: "CELP", 9: "HVXC", 12: "TTSI", 13: "main synthetic",
    17: "ER AAC LC", 19: "ER AAC LTP", 20: "ER AAC scalable", 22: "ER BSAC", 24: "ER CELP",
    32: "MPEG-1/2 Layer I", 33: "MPEG-1/2 Layer II", 34: "MP3 (MPEG-1/2 Layer III)",
    35: "DST", 36: "ALS", 37: "SLS", 38: "SLS non-core",
}  # fmt: skip
# channelConfiguration -> channels (14496-3 table 1.19 and its later additions); 0 leaves them
# to a program config element in the stream.
_CHANNELS = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 8, 11: 7, 12: 8, 13: 24, 14: 8}
# objectTypeIndication of a DecoderConfigDescriptor (the MP4 registration authority's table).
_MPEG4_AUDIO_OTIS = {0x40, 0x66, 0x67, 0x68}  # MPEG-4 audio; MPEG-2 AAC Main, LC, SSR
_OTHER_OTIS = {
    0x69: "MP3 (MPEG-2 audio)", 0x6B: "MP3 (MPEG-1 audio)", 0xA5: "AC-3", 0xA6: "E-AC-3",
    0xA9: "DTS", 0xAD: "Opus", 0xDD: "Vorbis", 0xE1: "QCELP",
}  # fmt: skip
_SBR_SYNC, _PS_SYNC = 0x2B7, 0x548  # backward-compatible explicit signalling


@dataclass(frozen=True)
class AacConfig:
    codec: str  # "aac-lc", "he-aac", "he-aac-v2" or "aac" (another AAC object type)
    sample_rate: int  # the output rate when SBR is signalled explicitly, else the core rate
    channels: int  # 0 when a program config element in the stream says


def aac_codec(object_type: int, fmt: str) -> str:
    """Inspect's name of an AAC audio object type; `UnsupportedEncoding` naming any other."""
    if object_type in _AAC_CODECS:
        return _AAC_CODECS[object_type]
    name = _OTHER_OBJECT_TYPES.get(object_type, "an unknown coding")
    raise UnsupportedEncoding(
        fmt, f"MPEG-4 audio object type {object_type} ({name}) is not AAC, ALAC or AMR"
    )


def aac_channels(configuration: int, fmt: str) -> int:
    """Channels of a channelConfiguration; 0 when the stream's program config element says."""
    if configuration and configuration not in _CHANNELS:
        raise CorruptHeader(fmt, f"AAC channel configuration {configuration} is reserved")
    return _CHANNELS.get(configuration, 0)


def aac_rate(index: int, fmt: str) -> int:
    """The rate of a sampling frequency index (15, an explicit rate, is the caller's)."""
    if index >= len(AAC_RATES):
        raise CorruptHeader(fmt, f"AAC sampling frequency index {index} is reserved")
    return AAC_RATES[index]


def es_descriptor_config(buf: bytes, start: int, end: int, fmt: str) -> AacConfig:
    """The AudioSpecificConfig in the ES_Descriptor at buf[start:end] (an `esds` box's payload
    after its version and flags, or a CAF `aac ` magic cookie)."""
    tag, pos, es_end = _descriptor(buf, start, end, fmt)
    if tag != 0x03:
        raise CorruptHeader(fmt, f"the elementary stream descriptor has tag {tag}, not 3")
    flags = read_int("B", buf, pos + 2)
    pos += 3  # ES_ID, then the flags of the optional fields
    if flags & 0x80:  # streamDependenceFlag: dependsOn_ES_ID
        pos += 2
    if flags & 0x40:  # URL_Flag: a length-prefixed URL
        pos += 1 + read_int("B", buf, pos)
    if flags & 0x20:  # OCRstreamFlag: OCR_ES_Id
        pos += 2
    tag, pos, config_end = _descriptor(buf, pos, es_end, fmt)
    if tag != 0x04:
        raise CorruptHeader(fmt, "the stream has no decoder configuration descriptor")
    object_type = read_int("B", buf, pos)
    if object_type not in _MPEG4_AUDIO_OTIS:
        name = _OTHER_OTIS.get(object_type, f"object type 0x{object_type:02X}")
        raise UnsupportedEncoding(fmt, f"its audio track holds {name}, not AAC, ALAC or AMR")
    tag, pos, info_end = _descriptor(buf, pos + 13, config_end, fmt)
    if tag != 0x05:
        raise CorruptHeader(fmt, "the AAC stream has no AudioSpecificConfig")
    return audio_specific_config(read_bytes(buf, pos, info_end - pos), fmt)


def _descriptor(buf: bytes, pos: int, end: int, fmt: str) -> tuple[int, int, int]:
    """(tag, payload start, payload end) of the descriptor at `pos`: a tag byte, then a size
    in 7-bit groups (the high bit says another follows), at most four."""
    tag = read_int("B", buf, pos)
    size = 0
    for index in range(1, 5):
        byte = read_int("B", buf, pos + index)
        size = size << 7 | byte & 0x7F
        if not byte & 0x80:
            break
    start = pos + 1 + index
    if start + size > end:
        raise CorruptHeader(fmt, f"descriptor {tag} at byte {pos} runs past its container")
    return tag, start, start + size


def audio_specific_config(data: bytes, fmt: str) -> AacConfig:
    """Codec, rate and channels of an AudioSpecificConfig."""
    bits = _Bits(data[:64], fmt)  # a configuration is a few bytes; ignore what follows
    object_type, rate, configuration = bits.object_type(), bits.rate(), bits.read(4)
    sbr_rate, parametric_stereo = 0, False
    if object_type in (5, 29):  # explicit hierarchical signalling: SBR's rate, then the core
        sbr_rate, parametric_stereo = bits.rate(), object_type == 29
        codec = aac_codec(bits.object_type(), fmt)
    else:
        codec = aac_codec(object_type, fmt)
        if object_type in (1, 2, 4) and configuration and _plain_core(bits):
            sbr_rate, parametric_stereo = _sync_extension(bits)
    channels = aac_channels(configuration, fmt)
    if parametric_stereo:
        return AacConfig("he-aac-v2", sbr_rate or rate, max(channels, 2))
    if sbr_rate:
        return AacConfig("he-aac", sbr_rate, channels)
    return AacConfig(codec, rate, channels)


def _plain_core(bits: _Bits) -> bool:
    """Skips an AAC Main/LC/LTP GASpecificConfig; False when it has fields not skipped here."""
    bits.read(1)  # frameLengthFlag
    if bits.read(1):  # dependsOnCoreCoder
        bits.read(14)
    return bits.read(1) == 0  # extensionFlag


def _sync_extension(bits: _Bits) -> tuple[int, bool]:
    """(SBR rate, PS present) of a backward-compatible extension after the core's config."""
    if bits.left < 16 or bits.peek(11) != _SBR_SYNC:
        return 0, False
    bits.read(11)
    if bits.object_type() != 5 or not bits.read(1):  # sbrPresentFlag
        return 0, False
    sbr_rate = bits.rate()
    if bits.left >= 12 and bits.peek(11) == _PS_SYNC:
        bits.read(11)
        return sbr_rate, bool(bits.read(1))
    return sbr_rate, False


class _Bits:
    """A big-endian bit reader over an AudioSpecificConfig."""

    def __init__(self, data: bytes, fmt: str) -> None:
        self._value = int.from_bytes(data, "big")
        self._length = 8 * len(data)
        self._pos = 0
        self._fmt = fmt

    @property
    def left(self) -> int:
        return self._length - self._pos

    def peek(self, count: int) -> int:
        if count > self.left:
            raise CorruptHeader(
                self._fmt, "the AAC configuration (AudioSpecificConfig) is cut short"
            )
        return self._value >> (self.left - count) & ((1 << count) - 1)

    def read(self, count: int) -> int:
        value = self.peek(count)
        self._pos += count
        return value

    def object_type(self) -> int:
        object_type = self.read(5)
        return 32 + self.read(6) if object_type == 31 else object_type

    def rate(self) -> int:
        index = self.read(4)
        return self.read(24) if index == 15 else aac_rate(index, self._fmt)
