"""Header sniffing: every supported format found from its bytes alone, read from the header
alone, and hostile or truncated bytes ending in a clear result, never a crash."""

from __future__ import annotations

import io
import math
import random
import struct
from functools import cache
from typing import Any

import numpy as np
import pillow_heif
import pytest
import soundfile as sf
from inspector.errors import CorruptHeader, UnsupportedEncoding, UnusableHeader
from inspector.sniffing import FORMATS, MediaInfo, content_type_of, describe, label_of, sniff
from inspector.sniffing.formats import find
from PIL import Image

pillow_heif.register_heif_opener()


# --- media made by real encoders ------------------------------------------------------------


def pillow_image(
    fmt: str, size: tuple[int, int] = (320, 200), mode: str = "RGB", **params: object
) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "teal" if mode == "RGB" else None).save(buffer, fmt, **params)
    return buffer.getvalue()


def soundfile_audio(
    fmt: str,
    subtype: str,
    seconds: float = 0.5,
    rate: int = 16000,
    channels: int = 2,
    noise: bool = False,
) -> bytes:
    frames = round(seconds * rate)
    rng = np.random.default_rng(7)
    samples = (
        rng.uniform(-0.5, 0.5, (frames, channels))
        if noise
        else 0.3
        * np.sin(np.linspace(0, 440 * 2 * np.pi * seconds, frames))[:, None].repeat(
            channels, axis=1
        )
    ).astype("float32")
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def jpeg_with_orientation(orientation: int, size: tuple[int, int] = (320, 200)) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return pillow_image("JPEG", size, exif=exif.tobytes())


def with_big_app_segments(jpeg: bytes, count: int) -> bytes:
    """Camera-style APP2 segments (ICC, MPF...) between SOI and the frame header."""
    segment = b"\xff\xe2" + struct.pack(">H", 65535) + bytes(65533)
    return jpeg[:2] + segment * count + jpeg[2:]


# --- handcrafted headers --------------------------------------------------------------------


def jpeg_frame(width: int, height: int, marker: int = 0xC0, components: int = 3) -> bytes:
    sof = struct.pack(">BHHB", 8, height, width, components) + bytes(3 * components)
    return b"\xff\xd8" + bytes([0xFF, marker]) + struct.pack(">H", 2 + len(sof)) + sof + b"\xff\xd9"


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def full_box(kind: bytes, payload: bytes, version: int = 0, flags: int = 0) -> bytes:
    return box(kind, bytes([version]) + flags.to_bytes(3, "big") + payload)


def heif(major: bytes = b"heic", compatible: bytes = b"mif1heic", rotation: int = 0) -> bytes:
    """An iPhone-like HEIC: item 1 is a 512x512 tile, item 2 the 4032x3024 primary grid."""
    ispe = [full_box(b"ispe", struct.pack(">II", w, h)) for w, h in ((512, 512), (4032, 3024))]
    ipco = box(b"ipco", ispe[0] + ispe[1] + box(b"irot", bytes([rotation])))
    # item 1 -> property 1; item 2 -> properties 2 and 3 (top bit: "essential")
    ipma = full_box(b"ipma", struct.pack(">IHBBHBBB", 2, 1, 1, 0x81, 2, 2, 0x82, 0x83))
    meta = full_box(
        b"meta",
        full_box(b"hdlr", bytes(4) + b"pict" + bytes(13))
        + full_box(b"pitm", struct.pack(">H", 2))
        + box(b"iprp", ipco + ipma),
    )
    return box(b"ftyp", major + bytes(4) + compatible) + meta + box(b"mdat", bytes(64))


def tiff_big_endian(width: int, height: int, orientation: int) -> bytes:
    entries = [(0x0100, 3, width), (0x0101, 4, height), (0x0112, 3, orientation)]
    ifd = struct.pack(">H", len(entries))
    for tag, kind, value in entries:
        packed = struct.pack(">HH", value, 0) if kind == 3 else struct.pack(">I", value)
        ifd += struct.pack(">HHI", tag, kind, 1) + packed
    return b"MM\x00*" + struct.pack(">I", 8) + ifd + bytes(4)


def chunk(kind: bytes, payload: bytes, little: bool = True) -> bytes:
    pad = b"\x00" if len(payload) % 2 else b""
    return kind + struct.pack("<I" if little else ">I", len(payload)) + payload + pad


def wav_fmt(channels: int = 2, rate: int = 48000, bits: int = 16, tag: int = 1) -> bytes:
    block = channels * math.ceil(bits / 8)
    return struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)


def wav(
    fmt: bytes,
    data: bytes,
    before: bytes = b"",
    data_size: int | None = None,
) -> bytes:
    size = len(data) if data_size is None else data_size
    body = b"WAVE" + before + chunk(b"fmt ", fmt) + b"data" + struct.pack("<I", size) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def rf64(fmt: bytes, data: bytes, ds64_data_size: int) -> bytes:
    ds64 = chunk(b"ds64", struct.pack("<QQQI", 0, ds64_data_size, 0, 0))
    body = b"WAVE" + ds64 + chunk(b"fmt ", fmt) + b"data" + struct.pack("<I", 0xFFFFFFFF) + data
    return b"RF64" + struct.pack("<I", 0xFFFFFFFF) + body


def extended80(value: float) -> bytes:
    mantissa, exponent = math.frexp(value)
    return struct.pack(">HQ", exponent + 16382, int(mantissa * 2**64))


def aiff(
    channels: int = 2,
    frames: int = 24000,
    bits: int = 16,
    rate: float = 48000.0,
    data_frames: int | None = None,
    compression: bytes | None = None,
) -> bytes:
    comm = struct.pack(">hIh", channels, frames, bits) + extended80(rate)
    if compression is not None:
        comm += compression + b"\x00\x00"  # empty Pascal string name, padded
    data_frames = frames if data_frames is None else data_frames
    ssnd = struct.pack(">II", 0, 0) + bytes(data_frames * channels * math.ceil(bits / 8))
    body = (b"AIFC" if compression else b"AIFF") + chunk(b"COMM", comm, little=False)
    body += chunk(b"SSND", ssnd, little=False)
    return b"FORM" + struct.pack(">I", len(body)) + body


def au(encoding: int = 3, rate: int = 8000, channels: int = 1, data: bytes = bytes(16000)) -> bytes:
    return struct.pack(">4sIIIII", b".snd", 24, len(data), encoding, rate, channels) + data


MP3_FRAME_128K_44K = b"\xff\xfb\x90\x00" + bytes(413)  # MPEG-1 Layer III, 417 bytes


def id3v2(payload_size: int) -> bytes:
    syncsafe = bytes((payload_size >> shift) & 0x7F for shift in (21, 14, 7, 0))
    return b"ID3\x04\x00\x00" + syncsafe + bytes(payload_size)


def ogg_first_page(packet: bytes, serial: int = 99) -> bytes:
    header = b"OggS" + struct.pack("<BBqIIIB", 0, 2, 0, serial, 0, 0, 1)
    return header + bytes([len(packet)]) + packet


# --- the format registry: one name, label, content type and kind per format -----------------


def registry_samples() -> dict[str, bytes]:
    """A file of every format the registry names, made by real encoders where there are some."""
    return {
        "jpeg": pillow_image("JPEG"),
        "png": pillow_image("PNG"),
        "gif": pillow_image("GIF"),
        "webp": pillow_image("WEBP"),
        "tiff": pillow_image("TIFF"),
        "bmp": pillow_image("BMP"),
        "heic": pillow_image("HEIF"),
        "avif": pillow_image("AVIF"),
        "heif": heif(b"mif1", b"mif1miaf"),  # a HEIF whose brands name no HEVC or AV1
        "wav": soundfile_audio("WAV", "PCM_16"),
        "flac": soundfile_audio("FLAC", "PCM_16"),
        "ogg": soundfile_audio("OGG", "VORBIS"),
        "aiff": soundfile_audio("AIFF", "PCM_16"),
        "au": soundfile_audio("AU", "PCM_16"),
        "mp3": id3v2(64) + soundfile_audio("MP3", "MPEG_LAYER_III"),  # as taggers leave it
    }


def test_every_registered_format_is_sniffed_as_the_registry_describes_it() -> None:
    samples = registry_samples()
    # A format added to the registry needs a sample here, and one removed loses it
    assert sorted(samples) == sorted(entry.name for entry in FORMATS)

    for entry in FORMATS:
        info = sniff(samples[entry.name])

        assert (info.format, info.kind, info.content_type) == (
            entry.name,
            entry.kind,
            entry.content_type,
        )
        assert info.pixels > 0 or info.duration_seconds > 0, entry.name


def test_a_broken_header_gets_the_content_type_and_label_of_a_good_one() -> None:
    samples = registry_samples()
    for entry in FORMATS:
        # Given a file of the format cut short inside its header
        good = sniff(samples[entry.name])
        cuts = [samples[entry.name][:cut] for cut in range(4, 64)]
        broken = [p for c in cuts if isinstance(p := sniff_outcome(c, len(c)), UnusableHeader)]
        assert broken, entry.name

        # Then the verdict names the same format, with the content type of a good file
        for problem in broken:
            assert problem.format == entry.name
            assert content_type_of(problem.format) == good.content_type == entry.content_type
            assert label_of(problem.format) == entry.label


def test_the_registry_names_each_format_label_and_content_type_once() -> None:
    for field in ("name", "label", "content_type"):
        values = [getattr(entry, field) for entry in FORMATS]
        assert len(values) == len(set(values)), field
    assert {entry.kind for entry in FORMATS} == {"image", "audio"}


def test_names_outside_the_registry_get_neutral_answers() -> None:
    assert (content_type_of("unknown"), label_of("unknown")) == (
        "application/octet-stream",
        "unknown",
    )
    assert (content_type_of("heic"), label_of("heic")) == ("image/heic", "HEIC")


# --- every format, detected from its bytes --------------------------------------------------


@pytest.mark.parametrize(
    ("encoder", "fmt", "content_type"),
    [
        ("JPEG", "jpeg", "image/jpeg"),
        ("PNG", "png", "image/png"),
        ("WEBP", "webp", "image/webp"),
        ("GIF", "gif", "image/gif"),
        ("TIFF", "tiff", "image/tiff"),
        ("BMP", "bmp", "image/bmp"),
        ("HEIF", "heic", "image/heic"),  # Pillow writes HEVC-coded HEIF: HEIC
        ("AVIF", "avif", "image/avif"),
    ],
)
def test_images_are_identified_and_measured_from_their_header(
    encoder: str, fmt: str, content_type: str
) -> None:
    info = sniff(pillow_image(encoder, (321, 203)))

    assert (info.kind, info.format, info.content_type) == ("image", fmt, content_type)
    assert (info.width, info.height) == (321, 203)
    assert info.complete


@pytest.mark.parametrize(
    ("params", "codec"),
    [({"lossless": True}, "lossless"), ({"quality": 80}, "lossy")],
    ids=["VP8L", "VP8"],
)
def test_webp_bitstreams(params: dict[str, Any], codec: str) -> None:
    info = sniff(pillow_image("WEBP", (1001, 3), **params))

    assert (info.width, info.height, info.codec) == (1001, 3, codec)


def test_webp_extended_header_with_alpha() -> None:
    info = sniff(pillow_image("WEBP", (640, 480), mode="RGBA"))

    assert (info.width, info.height, info.codec) == (640, 480, "extended")


@pytest.mark.parametrize(
    ("fmt", "subtype", "codec", "bits"),
    [
        ("WAV", "PCM_U8", "pcm", 8),
        ("WAV", "PCM_16", "pcm", 16),
        ("WAV", "PCM_24", "pcm", 24),
        ("WAV", "PCM_32", "pcm", 32),
        ("WAV", "FLOAT", "float", 32),
        ("WAV", "DOUBLE", "float", 64),
        ("WAV", "ULAW", "ulaw", 8),
        ("WAVEX", "PCM_24", "pcm", 24),
        ("WAVEX", "FLOAT", "float", 32),
        ("RF64", "PCM_16", "pcm", 16),
        ("AIFF", "PCM_16", "none", 16),
        ("AIFF", "FLOAT", "fl32", 32),
        ("AU", "PCM_16", "pcm", 16),
        ("AU", "ULAW", "ulaw", 8),
        ("FLAC", "PCM_24", "flac", 24),
    ],
)
def test_audio_headers_give_exact_duration(fmt: str, subtype: str, codec: str, bits: int) -> None:
    info = sniff(soundfile_audio(fmt, subtype, seconds=1.25, rate=22050, channels=2))

    assert info.kind == "audio"
    assert info.duration_seconds == pytest.approx(1.25, abs=1e-4)
    assert (info.sample_rate, info.channels, info.bits, info.codec) == (22050, 2, bits, codec)


@pytest.mark.parametrize(
    ("fmt", "subtype", "expected"),
    [
        ("WAV", "PCM_16", ("wav", "audio/wav")),
        ("RF64", "PCM_16", ("wav", "audio/wav")),
        ("FLAC", "PCM_16", ("flac", "audio/flac")),
        ("OGG", "VORBIS", ("ogg", "audio/ogg")),
        ("OGG", "OPUS", ("ogg", "audio/ogg")),
        ("MP3", "MPEG_LAYER_III", ("mp3", "audio/mpeg")),
        ("AIFF", "PCM_16", ("aiff", "audio/aiff")),
        ("AU", "PCM_16", ("au", "audio/basic")),
    ],
)
def test_audio_formats_are_identified(fmt: str, subtype: str, expected: tuple[str, str]) -> None:
    info = sniff(soundfile_audio(fmt, subtype, rate=48000))

    assert (info.kind, info.format, info.content_type) == ("audio", *expected)


def test_ogg_vorbis_and_opus_durations_come_from_the_last_page() -> None:
    vorbis = sniff(soundfile_audio("OGG", "VORBIS", seconds=2.0, rate=44100, channels=1))
    opus = sniff(soundfile_audio("OGG", "OPUS", seconds=2.0, rate=48000, channels=2))

    assert (vorbis.codec, vorbis.sample_rate, vorbis.channels) == ("vorbis", 44100, 1)
    assert vorbis.duration_seconds == pytest.approx(2.0, abs=1e-3)
    # Opus counts at 48 kHz and starts with a pre-skip that is not part of the audio
    assert (opus.codec, opus.sample_rate, opus.channels) == ("opus", 48000, 2)
    assert opus.duration_seconds == pytest.approx(2.0, abs=1e-3)


def test_long_ogg_duration_needs_the_tail_of_the_file() -> None:
    # Given a 20 s Vorbis file much larger than the head that is read
    data = soundfile_audio("OGG", "VORBIS", seconds=20, rate=16000, channels=1, noise=True)
    assert len(data) > 70_000

    # When only the head is known the duration is unknown; with the last 64 KiB it is exact
    without_tail = sniff(data[:4096], len(data))
    with_tail = sniff(data[:4096], len(data), tail=data[-65536:])

    assert (without_tail.format, without_tail.duration_seconds) == ("ogg", 0.0)
    assert not without_tail.duration_known
    assert with_tail.duration_seconds == pytest.approx(20.0, abs=1e-3)
    assert with_tail.duration_known


def test_mp3_duration_from_xing_frame_less_encoder_delay_and_padding() -> None:
    info = sniff(soundfile_audio("MP3", "MPEG_LAYER_III", seconds=3.0, rate=44100))

    assert (info.sample_rate, info.channels) == (44100, 2)
    assert info.duration_seconds == pytest.approx(3.0, abs=1e-3)


def test_mp3_without_xing_frame_estimates_duration_from_bitrate() -> None:
    data = MP3_FRAME_128K_44K * 200  # 200 frames of 1152 samples: 5.22 s

    info = sniff(data)

    assert (info.format, info.sample_rate, info.channels) == ("mp3", 44100, 2)
    assert info.duration_seconds == pytest.approx(200 * 1152 / 44100, rel=0.01)


def test_mp3_vbri_frame_counts_frames() -> None:
    vbri = b"VBRI" + struct.pack(">HHHII", 1, 0, 75, 100_000, 500)
    first = b"\xff\xfb\x90\x00" + bytes(32) + vbri
    data = first + bytes(417 - len(first)) + MP3_FRAME_128K_44K * 3

    assert sniff(data).duration_seconds == pytest.approx(500 * 1152 / 44100)


def test_id3v2_tag_is_skipped_before_mp3_and_flac() -> None:
    mp3 = id3v2(3000) + MP3_FRAME_128K_44K * 20
    flac = id3v2(1000) + soundfile_audio("FLAC", "PCM_16", seconds=1.0)

    assert sniff(mp3).format == "mp3"
    assert sniff(flac).format == "flac"
    assert sniff(flac).duration_seconds == pytest.approx(1.0)


def test_mp3_behind_a_large_id3_tag_is_incomplete_within_a_short_head() -> None:
    data = id3v2(300_000) + MP3_FRAME_128K_44K * 20

    info = sniff(data[:65536], len(data))

    assert (info.format, info.complete) == ("mp3", False)


def test_flac_with_unknown_sample_count_reports_zero_duration() -> None:
    data = bytearray(soundfile_audio("FLAC", "PCM_16"))
    (packed,) = struct.unpack_from(">Q", data, 18)
    struct.pack_into(">Q", data, 18, packed & ~(2**36 - 1))

    info = sniff(bytes(data))

    assert (info.format, info.duration_seconds, info.sample_rate) == ("flac", 0.0, 16000)
    assert not info.duration_known


# --- orientation and the primary image ------------------------------------------------------


@pytest.mark.parametrize(
    ("orientation", "displayed"),
    [(1, (320, 200)), (3, (320, 200)), (6, (200, 320)), (8, (200, 320))],
)
def test_jpeg_dimensions_are_as_displayed_after_exif_orientation(
    orientation: int, displayed: tuple[int, int]
) -> None:
    info = sniff(jpeg_with_orientation(orientation))

    assert (info.width, info.height) == displayed
    assert info.orientation == orientation


def test_tiff_big_endian_with_orientation() -> None:
    info = sniff(tiff_big_endian(width=3000, height=2000, orientation=8))

    assert (info.format, info.width, info.height, info.orientation) == ("tiff", 2000, 3000, 8)


def test_bmp_top_down_rows_have_a_negative_height_in_the_header() -> None:
    data = bytearray(pillow_image("BMP", (64, 48)))
    struct.pack_into("<i", data, 22, -48)

    assert (sniff(bytes(data)).width, sniff(bytes(data)).height) == (64, 48)


@pytest.mark.parametrize(
    ("rotation", "displayed"),
    [(0, (4032, 3024)), (1, (3024, 4032)), (2, (4032, 3024)), (3, (3024, 4032))],
)
def test_heic_size_is_the_primary_items_after_irot(
    rotation: int, displayed: tuple[int, int]
) -> None:
    # The first ispe belongs to a 512x512 tile: only the primary item (pitm) counts
    info = sniff(heif(rotation=rotation))

    assert (info.format, info.content_type) == ("heic", "image/heic")
    assert (info.width, info.height) == displayed


@pytest.mark.parametrize(
    ("major", "compatible", "fmt", "content_type"),
    [
        (b"mif1", b"mif1avif", "avif", "image/avif"),
        (b"avif", b"mif1avif", "avif", "image/avif"),
        (b"mif1", b"mif1heic", "heic", "image/heic"),
        (b"mif1", b"mif1miaf", "heif", "image/heif"),
        (b"msf1", b"msf1hevc", "heic", "image/heic"),
    ],
)
def test_iso_bmff_brands(major: bytes, compatible: bytes, fmt: str, content_type: str) -> None:
    info = sniff(heif(major, compatible))

    assert (info.kind, info.format, info.content_type) == ("image", fmt, content_type)


def test_heif_with_meta_after_a_large_mdat_has_unknown_size() -> None:
    # Given a HEIF writer that put the pixels first (allowed by the standard)
    data = heif()
    ftyp_end = struct.unpack_from(">I", data)[0]
    mdat = box(b"mdat", bytes(200_000))
    moved = data[:ftyp_end] + mdat + data[ftyp_end:]

    # Then the head identifies it, and says the size lies further on
    head_only = sniff(moved[:65536], len(moved))
    whole = sniff(moved)

    assert (head_only.format, head_only.complete, head_only.width) == ("heic", False, 0)
    assert (whole.width, whole.height) == (4032, 3024)


def test_jpeg_frame_header_beyond_the_head_is_reported_incomplete() -> None:
    data = with_big_app_segments(jpeg_with_orientation(6), count=3)

    head_only = sniff(data[:65536], len(data))
    wider = sniff(data[: 1024 * 1024], len(data))

    assert (head_only.format, head_only.complete, head_only.width) == ("jpeg", False, 0)
    assert (wider.complete, wider.width, wider.height) == (True, 200, 320)


# --- WAV details ----------------------------------------------------------------------------


def test_wav_chunks_before_fmt_are_walked_over() -> None:
    bext = chunk(b"bext", bytes(602)) + chunk(b"iXML", b"<BWFXML/>" * 51) + chunk(b"JUNK", bytes(7))
    data = wav(wav_fmt(channels=1, rate=96000, bits=24), bytes(3 * 96000), before=bext)

    info = sniff(data)

    assert (info.sample_rate, info.channels, info.bits) == (96000, 1, 24)
    assert info.duration_seconds == pytest.approx(1.0)


def test_rf64_sizes_come_from_the_ds64_chunk() -> None:
    # The ds64 data size (10 GB) is what counts, not the 32-bit field (0xFFFFFFFF)
    head = rf64(wav_fmt(channels=2, rate=48000, bits=24), bytes(1000), ds64_data_size=10**10)

    info = sniff(head, size=10**10 + 200)

    assert info.format == "wav"
    assert info.duration_seconds == pytest.approx(10**10 // 6 / 48000)


@pytest.mark.parametrize("declared", [0, 0xFFFFFFFF, 10**9], ids=["zero", "max", "too-big"])
def test_wav_data_size_that_overstates_the_file_counts_the_bytes_present(declared: int) -> None:
    # A recorder that lost power leaves a placeholder size: 1 s of 16-bit stereo is present
    data = wav(wav_fmt(channels=2, rate=8000), bytes(32000), data_size=declared)

    assert sniff(data).duration_seconds == pytest.approx(1.0)


def test_compressed_wav_duration_comes_from_the_fact_chunk() -> None:
    ima = struct.pack("<HHIIHHHH", 0x11, 1, 8000, 4055, 256, 4, 2, 505)
    fact = chunk(b"fact", struct.pack("<I", 16000))
    body = b"WAVE" + chunk(b"fmt ", ima) + fact + chunk(b"data", bytes(8192))
    info = sniff(b"RIFF" + struct.pack("<I", len(body)) + body)

    assert (info.codec, info.duration_seconds) == ("ima-adpcm", pytest.approx(2.0))


# --- absurd and unsupported values ----------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "fmt", "problem"),
    [
        (wav(wav_fmt(channels=0), bytes(100)), "wav", "0 channels"),
        (wav(wav_fmt(rate=0), bytes(100)), "wav", "sample rate is 0 Hz"),
        (wav(wav_fmt(bits=12, tag=3), bytes(100)), "wav", "floating point with 12 bits"),
        (aiff(channels=0), "aiff", "0 channels"),
        (aiff(rate=0.0), "aiff", "sample rate is 0 Hz"),
        (au(channels=0), "au", "0 channels"),
        (au(rate=0), "au", "sample rate is 0 Hz"),
        (jpeg_frame(0, 100), "jpeg", "0x100 pixels"),
        (b"\xff\xd8\xff\xda\x00\x02" + bytes(10), "jpeg", "before any frame header"),
        (b"\x89PNG\r\n\x1a\n" + chunk(b"IDAT", bytes(13))[::-1], "png", "not a 13-byte IHDR"),
        (b"GIF89a\x00\x00\x00\x00" + bytes(20), "gif", "0x0 pixels"),
        (ogg_first_page(b"\x01vorbis" + struct.pack("<IBI", 0, 0, 44100)), "ogg", "0 channels"),
    ],
)
def test_impossible_header_values_are_corrupt_headers(data: bytes, fmt: str, problem: str) -> None:
    with pytest.raises(CorruptHeader) as raised:
        sniff(data)

    assert raised.value.format == fmt
    assert problem in str(raised.value)


@pytest.mark.parametrize(
    ("data", "fmt", "problem"),
    [
        (wav(wav_fmt(tag=0x0161), bytes(100)), "wav", "WAV format tag 0x0161"),
        (au(encoding=23), "au", "AU encoding 23"),
        (aiff(compression=b"ACE2"), "aiff", "compression 'ACE2'"),
        (ogg_first_page(b"\x7fFLAC\x01\x00" + bytes(30)), "ogg", "holds FLAC"),
        (ogg_first_page(b"\x80theora" + bytes(30)), "ogg", "holds Theora video"),
    ],
)
def test_supported_containers_with_unsupported_encodings(
    data: bytes, fmt: str, problem: str
) -> None:
    with pytest.raises(UnsupportedEncoding) as raised:
        sniff(data)

    assert raised.value.format == fmt
    assert problem in str(raised.value)


def test_aiff_claiming_2_pow_31_frames_reports_the_frames_present() -> None:
    # Given a header for 2^31 mono 8-bit frames, followed by 0.1 s of sound data
    data = bytearray(aiff(channels=1, bits=8, frames=2**31, rate=44100.0, data_frames=4410))
    struct.pack_into(">I", data, data.find(b"SSND") + 4, 8 + 2**31)

    # When the file ends there, the duration is the sound present
    assert sniff(bytes(data)).duration_seconds == pytest.approx(0.1)
    # When it is only the head of a 2 GiB object, the header is believed
    assert sniff(bytes(data), size=2**31 + 100).duration_seconds == pytest.approx(2**31 / 44100)


def test_aiff_extended_float_sample_rates() -> None:
    assert sniff(aiff(rate=22254.545454)).sample_rate == 22255
    assert sniff(aiff(rate=192000.0)).sample_rate == 192000


def test_au_with_unknown_data_size_counts_to_the_end_of_the_file() -> None:
    data = bytearray(au(encoding=1, rate=8000, data=bytes(4000)))
    struct.pack_into(">I", data, 8, 0xFFFFFFFF)

    assert sniff(bytes(data)).duration_seconds == pytest.approx(0.5)


def test_jpeg_65535_by_65535_is_read_as_it_is() -> None:
    # Limits are inspection's job; the header value itself is reported faithfully
    info = sniff(jpeg_frame(65535, 65535))

    assert (info.width, info.height, info.pixels) == (65535, 65535, 65535 * 65535)


def test_jpeg_coding_details_are_reported() -> None:
    info = sniff(jpeg_frame(800, 600, marker=0xC2, components=4))

    assert (info.codec, info.channels, info.bits) == ("progressive", 4, 8)


# --- unknown content ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "looks_like"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF document"),
        (b"PK\x03\x04\x14\x00\x06\x00", "ZIP archive (or DOCX/XLSX/APK)"),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A isom", "MPEG-4 audio (AAC, brand 'M4A')"),
        (
            b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",
            "MPEG-4/QuickTime media (brand 'mp42')",
        ),
        (b"RIFF\x00\x10\x00\x00AVI LIST", "AVI video"),
        (b"\xff\xf1\x50\x80\x02\x1f\xfc", "AAC audio (ADTS)"),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "HTML document"),
        ("Grüße aus dem Feld, 2024-05-14\n".encode(), "text"),
        (b"\x00\x01\x02\x03\xfe\xfd\xfc\xfb\x99", "binary data starting 00 01 02 03 fe fd fc fb"),
        (b"", "nothing (empty)"),
    ],
)
def test_unknown_content_says_what_it_looks_like(data: bytes, looks_like: str) -> None:
    info = sniff(data)

    assert (info.kind, info.format, info.content_type) == (
        "unknown",
        "unknown",
        "application/octet-stream",
    )
    assert info.looks_like == looks_like == describe(data)


def test_random_bytes_get_a_verdict_a_person_can_read() -> None:
    rng = random.Random(1)
    for _ in range(200):
        data = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300)))
        assert_readable_verdict(sniff_outcome(data, len(data)))


# --- robustness: truncated and mutated headers ----------------------------------------------


@cache
def samples() -> dict[str, bytes]:
    images = {f: pillow_image(f, (96, 64)) for f in ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP")}
    images["HEIF"] = pillow_image("HEIF", (96, 64))
    images["AVIF"] = pillow_image("AVIF", (96, 64))
    images["JPEG-EXIF"] = jpeg_with_orientation(6, (96, 64))
    images["HEIC-GRID"] = heif(rotation=1)
    images["TIFF-MM"] = tiff_big_endian(96, 64, 6)
    sounds = {
        f"{fmt}-{sub}": soundfile_audio(
            fmt, sub, seconds=0.05, rate=8000 if sub != "OPUS" else 48000
        )
        for fmt, sub in [
            ("WAV", "PCM_16"),
            ("WAVEX", "FLOAT"),
            ("RF64", "PCM_24"),
            ("FLAC", "PCM_16"),
            ("OGG", "VORBIS"),
            ("OGG", "OPUS"),
            ("MP3", "MPEG_LAYER_III"),
            ("AIFF", "PCM_16"),
            ("AIFF", "FLOAT"),
            ("AU", "ULAW"),
        ]
    }
    sounds["ID3-MP3"] = id3v2(100) + MP3_FRAME_128K_44K * 3
    return images | sounds


SAMPLE_NAMES = [
    *("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP", "HEIF", "AVIF"),
    *("JPEG-EXIF", "HEIC-GRID", "TIFF-MM", "ID3-MP3"),
    *("WAV-PCM_16", "WAVEX-FLOAT", "RF64-PCM_24", "FLAC-PCM_16", "OGG-VORBIS", "OGG-OPUS"),
    *("MP3-MPEG_LAYER_III", "AIFF-PCM_16", "AIFF-FLOAT", "AU-ULAW"),
]


def sniff_outcome(data: bytes, size: int) -> MediaInfo | UnusableHeader:
    try:
        return sniff(data, size)
    except UnusableHeader as err:
        return err


def assert_readable_verdict(outcome: MediaInfo | UnusableHeader) -> None:
    """What a person gets is usable: a problem named for a known format, or facts that agree
    with the registry and numbers that can be shown (none negative, none NaN or infinite)."""
    if isinstance(outcome, UnusableHeader):
        assert find(outcome.format) is not None, outcome.format
        assert str(outcome).strip()
        return
    if outcome.format == "unknown":
        assert (outcome.kind, outcome.content_type) == ("unknown", "application/octet-stream")
        assert outcome.looks_like
        return
    entry = find(outcome.format)
    assert entry is not None, outcome.format
    assert (outcome.kind, outcome.content_type) == (entry.kind, entry.content_type)
    numbers = (outcome.width, outcome.height, outcome.sample_rate, outcome.channels)
    assert min(numbers) >= 0, outcome
    assert math.isfinite(outcome.duration_seconds) and outcome.duration_seconds >= 0, outcome
    assert 1 <= outcome.orientation <= 8, outcome


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_truncated_files_are_corrupt_headers_never_crashes(name: str) -> None:
    data = samples()[name]
    complete = sniff(data)
    header_end = min(len(data), 400)

    for cut in range(header_end):
        # When the file itself stops early: a clear "truncated" verdict or what was readable,
        # never "the header goes on": there is nothing more to read
        outcome = sniff_outcome(data[:cut], cut)
        if isinstance(outcome, UnusableHeader):
            assert outcome.format == complete.format, (name, cut)
        else:
            assert outcome.format in (complete.format, "unknown"), (name, cut)
            assert outcome.complete, (name, cut)
        # When only the head was read from a longer file: identified (once the signature is
        # in), maybe incomplete, never corrupt: the file is fine, and nothing is guessed
        partial = sniff_outcome(data[:cut], len(data))
        assert isinstance(partial, MediaInfo), (name, cut, partial)
        assert partial.format in (complete.format, "unknown"), (name, cut)
        if not partial.complete:
            assert (partial.format, partial.pixels, partial.duration_seconds) == (
                complete.format,
                0,
                0.0,
            ), (name, cut)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_mutated_headers_never_crash(name: str) -> None:
    data = samples()[name]
    rng = random.Random(name)
    interesting = [0x00, 0x01, 0x7F, 0x80, 0xFF]
    for _ in range(300):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            position = rng.randrange(min(len(mutated), 256))
            mutated[position] = rng.choice([*interesting, rng.getrandbits(8)])
        cut = rng.choice([len(mutated), rng.randrange(1, len(mutated) + 1)])
        outcome = sniff_outcome(bytes(mutated[:cut]), rng.choice([cut, len(mutated), 2**40]))
        assert_readable_verdict(outcome)


def test_header_walks_are_bounded() -> None:
    # A megabyte of zero-length boxes / empty chunks / fill bytes ends in a verdict, quickly
    many_boxes = box(b"ftyp", b"mif1" + bytes(4) + b"mif1heic") + box(b"free", b"") * 130_000
    many_chunks = b"RIFF\xff\xff\xff\xffWAVE" + b"JUNK\x00\x00\x00\x00" * 130_000
    fill_bytes = b"\xff\xd8" + b"\xff" * 1_000_000

    for data in (many_boxes, many_chunks, fill_bytes):
        outcome = sniff_outcome(data, len(data))
        assert isinstance(outcome, UnusableHeader)
