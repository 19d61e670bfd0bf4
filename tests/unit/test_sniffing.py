"""Header sniffing: every supported format found from its bytes alone, read from the header
alone, and hostile or truncated bytes ending in a clear result, never a crash."""

from __future__ import annotations

import io
import math
import random
import re
import struct
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pillow_heif
import pytest
import soundfile as sf
from inspector.errors import CorruptHeader, UnsupportedEncoding, UnusableHeader
from inspector.sniffing import FORMATS, MediaInfo, content_type_of, describe, label_of, sniff
from inspector.sniffing.formats import find
from PIL import Image

from mediaflow.corpora.phone_audio import write_phone_recordings, write_video_mp4

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


def amr_wb(frames: int = 150, frame_type: int = 8) -> bytes:
    """AMR-WB as RFC 4867 stores it: magic, then frames of one mode (8: 23.85 kb/s, 61 bytes)."""
    sizes = {0: 18, 2: 33, 8: 61, 9: 6, 15: 1}
    return b"#!AMR-WB\n" + (bytes([frame_type << 3 | 0x04]) + bytes(sizes[frame_type] - 1)) * frames


def caf_chunk(kind: bytes, payload: bytes, size: int | None = None) -> bytes:
    return kind + struct.pack(">q", len(payload) if size is None else size) + payload


def caf(
    format_id: bytes = b"lpcm",
    *,
    rate: float = 8000.0,
    channels: int = 1,
    packet: tuple[int, int] = (2, 1),  # bytes and frames per packet; 0: variable
    bits: int = 16,
    flags: int = 0,
    before_data: bytes = b"",
    audio: bytes = bytes(16000),
    data_size: int | None = None,
    after_data: bytes = b"",
) -> bytes:
    """A CAF file: `desc`, other chunks, `data` (its 4-byte edit count, then `audio`), more."""
    desc = struct.pack(">d4sIIIII", rate, format_id, flags, *packet, channels, bits)
    data = caf_chunk(b"data", bytes(4) + audio, data_size)
    return b"caff\x00\x01\x00\x00" + caf_chunk(b"desc", desc) + before_data + data + after_data


def pakt(packets: int, valid_frames: int, priming: int, remainder: int) -> bytes:
    table = struct.pack(">qqii", packets, valid_frames, priming, remainder) + bytes(packets)
    return caf_chunk(b"pakt", table)


@cache
def phone_audio() -> dict[str, bytes]:
    """The phone recordings of mediaflow.corpora.phone_audio by name (written once, in well
    under a second), an MP4 with a video track, and a 3GPP2 file: the 3GP one under 3GPP2's
    brand (PyAV's 3g2 muxer writes the same boxes)."""
    with tempfile.TemporaryDirectory() as folder:
        paths = write_phone_recordings(Path(folder))
        paths["video.mp4"] = write_video_mp4(Path(folder) / "video.mp4")
        files = {name: path.read_bytes() for name, path in paths.items()}
    three_gpp2 = bytearray(files["aac-lc-16k-mono.3gp"])
    three_gpp2[8:12] = b"3g2a"
    return files | {"aac-lc-16k-mono.3g2": bytes(three_gpp2)}


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
        "mp4": phone_audio()["aac-lc-48k-stereo.m4a"],
        "3gp": phone_audio()["aac-lc-16k-mono.3gp"],
        "3g2": phone_audio()["aac-lc-16k-mono.3g2"],
        "aac": phone_audio()["aac-lc-44k-stereo.aac"],
        "caf": phone_audio()["alac-48k-stereo.caf"],
        "amr": phone_audio()["amr-nb-8k-mono.amr"],
        "amr-wb": amr_wb(),  # PyAV has no AMR-WB encoder
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
        (caf(channels=0), "caf", "0 channels"),
        (caf(rate=math.nan), "caf", "not a number"),
        (
            caf(b"aac ", packet=(0, 1024)).replace(b"caff\x00\x01", b"caff\x00\x02"),
            "caf",
            "version 2",
        ),
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
        (caf(b"ima4", packet=(34, 64)), "caf", "CAF audio in IMA4 ADPCM"),
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
        (b"RIFF\x00\x10\x00\x00AVI LIST", "AVI video"),
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


@pytest.mark.parametrize(
    ("data", "fmt", "looks_like"),
    [
        (
            b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A isom",
            "mp4",
            "MPEG-4 audio (AAC, brand 'M4A')",
        ),
        (
            b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",
            "mp4",
            "MPEG-4/QuickTime media (brand 'mp42')",
        ),
        (b"\xff\xf1\x50\x80\x02\x1f\xfc", "aac", "AAC audio (ADTS)"),
    ],
)
def test_phone_audio_that_was_unknown_is_identified_now(
    data: bytes, fmt: str, looks_like: str
) -> None:
    # Given the first bytes of an M4A, of an MP4 and of an ADTS frame, and nothing more
    outcome = sniff_outcome(data, len(data))

    # Then they are the formats they start, cut short; what they look like is still said
    assert isinstance(outcome, CorruptHeader) and outcome.format == fmt
    assert describe(data) == looks_like


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
    phones = {name: phone_audio()[file] for name, file in PHONE_SAMPLES.items()}
    rifx = io.BytesIO()
    sf.write(rifx, np.zeros((400, 2), "float32"), 8000, "PCM_16", format="WAV", endian="BIG")
    phones["RIFX-PCM_16"] = rifx.getvalue()
    phones["AMR-WB"] = amr_wb(frames=20)
    return images | sounds | phones


PHONE_SAMPLES = {
    "M4A-MOOV-AT-END": "aac-lc-44k-mono.m4a",
    "M4A-FASTSTART": "aac-lc-44k-stereo-faststart.m4a",
    "M4A-ALAC": "alac-44k-stereo.m4a",
    "3GP-AAC": "aac-lc-16k-mono.3gp",
    "3GP-AMR": "amr-nb-8k-mono.3gp",
    "ADTS": "aac-lc-44k-stereo.aac",
    "CAF-ALAC": "alac-48k-stereo.caf",
    "AMR": "amr-nb-8k-mono.amr",
}


SAMPLE_NAMES = [
    *("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP", "HEIF", "AVIF"),
    *("JPEG-EXIF", "HEIC-GRID", "TIFF-MM", "ID3-MP3"),
    *("WAV-PCM_16", "WAVEX-FLOAT", "RF64-PCM_24", "FLAC-PCM_16", "OGG-VORBIS", "OGG-OPUS"),
    *("MP3-MPEG_LAYER_III", "AIFF-PCM_16", "AIFF-FLOAT", "AU-ULAW"),
    *PHONE_SAMPLES,
    *("RIFX-PCM_16", "AMR-WB"),
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
    many_mp4_boxes = box(b"ftyp", b"M4A " + bytes(4) + b"M4A ") + box(b"free", b"") * 130_000
    many_moov_boxes = box(b"ftyp", b"M4A " + bytes(4)) + box(b"moov", box(b"free", b"") * 130_000)
    many_caf_chunks = caf(before_data=caf_chunk(b"free", b"") * 90_000)

    for data in (
        *(many_boxes, many_chunks, fill_bytes),
        *(many_mp4_boxes, many_moov_boxes, many_caf_chunks),
    ):
        outcome = sniff_outcome(data, len(data))
        assert isinstance(outcome, UnusableHeader)


# --- phone and recorder audio: MPEG-4, 3GPP, ADTS, CAF, AMR, RIFX ----------------------------


def sniff_as_inspect(data: bytes, head_bytes: int = 65536) -> MediaInfo:
    """What Inspect reads of a file: its head, then the ranges the parser asks for (at most
    two, as inspection.py reads them)."""
    head, tail = data[:head_bytes], b""
    info = sniff(head, len(data))
    first = info.next_read[0] if info.next_read else 0
    for _ in range(2):
        if info.next_read is None:
            break
        start, stop = info.next_read
        assert start == first + len(tail) < stop <= len(data)  # one run of bytes, in the file
        tail += data[start:stop]
        info = sniff(head, len(data), tail)
    return info


def decoded(path: Path) -> tuple[int, int, float]:
    """(rate, channels, seconds) of a file as PyAV, the audio function's decoder, decodes it."""
    import av

    frames = rate = channels = 0
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            frames += frame.samples
            rate, channels = frame.sample_rate, len(frame.layout.channels)
    return rate, channels, frames / rate


@pytest.mark.parametrize("head_bytes", [65536, 2048], ids=["64-KiB-head", "2-KiB-head"])
def test_phone_recordings_header_agrees_with_the_decoder(
    phone_recordings: dict[str, tuple[Any, Path]], head_bytes: int
) -> None:
    for name, (recording, path) in phone_recordings.items():
        info = sniff_as_inspect(path.read_bytes(), head_bytes)
        rate, channels, seconds = decoded(path)

        assert (info.kind, info.format, info.complete) == ("audio", recording.format, True), name
        if recording.codec.startswith("he-aac") and info.codec == "aac-lc":
            # SBR signalled implicitly: the header says AAC-LC at the core rate, half the
            # output rate (see inspector/sniffing/mpeg4_audio.py); PS makes mono stereo.
            assert (2 * info.sample_rate, info.channels) == (rate, 1), name
        else:
            assert (info.codec, info.sample_rate, info.channels) == (
                recording.codec,
                rate,
                channels,
            ), name
        # The duration within 1 % plus the codec's priming, of the signal and of the decode
        tolerance = 0.01 * recording.seconds + recording.priming_frames / recording.sample_rate
        if recording.format in ("aac", "amr", "amr-wb") and head_bytes < len(path.read_bytes()):
            tolerance *= 10  # estimated from the mean frame size of a 2 KiB head
        assert abs(info.duration_seconds - recording.seconds) <= tolerance, name
        assert abs(info.duration_seconds - seconds) <= tolerance, name


def test_mpeg4_with_a_video_track_is_refused_saying_so() -> None:
    data = phone_audio()["video.mp4"]

    for head_bytes in (len(data), 4096):
        with pytest.raises(UnsupportedEncoding) as raised:
            sniff_as_inspect(data, head_bytes)

        assert raised.value.format == "mp4"
        assert "video track" in str(raised.value)


@pytest.mark.parametrize("name", sorted(PHONE_SAMPLES.values()))
def test_truncated_phone_recordings_are_refused(name: str) -> None:
    data = phone_audio()[name]

    for cut in (len(data) // 2, 100):
        with pytest.raises(CorruptHeader) as raised:
            sniff(data[:cut])

        assert raised.value.format == sniff(data).format


def test_damaged_frames_of_adts_and_amr_are_refused() -> None:
    for name in ("aac-lc-44k-stereo.aac", "amr-nb-8k-mono.amr"):
        data = phone_audio()[name]
        middle = len(data) // 2
        flipped = data[:middle] + bytes(b ^ 0xFF for b in data[middle : middle + 200])

        with pytest.raises(CorruptHeader, match="damaged data"):
            sniff(flipped + data[middle + 200 :])


def test_rifx_is_wav_with_big_endian_sizes_and_fields() -> None:
    for subtype, codec, bits in (
        ("PCM_16", "pcm", 16),
        ("PCM_24", "pcm", 24),
        ("FLOAT", "float", 32),
    ):
        buffer = io.BytesIO()
        samples = np.zeros((27_562, 2), "float32")
        sf.write(buffer, samples, 22050, subtype, format="WAV", endian="BIG")
        data = buffer.getvalue()

        info = sniff(data)

        assert data[:4] == b"RIFX"
        assert (info.format, info.content_type) == ("wav", "audio/wav")
        assert (info.sample_rate, info.channels, info.bits, info.codec) == (22050, 2, bits, codec)
        assert info.duration_seconds == pytest.approx(27_562 / 22050)


# MPEG-4 made box by box: a movie of tracks, each with an edit list and one sample entry.


def bit_fields(*fields: tuple[int, int]) -> bytes:
    """(value, bits) fields packed big-endian and padded to whole bytes: an
    AudioSpecificConfig."""
    value = width = 0
    for field, bits in fields:
        value, width = value << bits | field, width + bits
    pad = -width % 8
    return (value << pad).to_bytes((width + pad) // 8, "big")


AAC_LC_48K_STEREO = bit_fields((2, 5), (3, 4), (2, 4), (0, 3))


def esds(config: bytes = AAC_LC_48K_STEREO, object_type: int = 0x40) -> bytes:
    specific = bytes([0x05, len(config)]) + config
    decoder = bytes([0x04, 13 + len(specific), object_type, 0x15]) + bytes(11) + specific
    return full_box(b"esds", bytes([0x03, 3 + len(decoder), 0, 1, 0]) + decoder)


def sample_entry(kind: bytes, children: bytes = b"", channels: int = 2, rate: int = 48000) -> bytes:
    fields = struct.pack(">HHHHI", channels, 16, 0, 0, rate << 16)
    return box(kind, bytes(6) + struct.pack(">H", 1) + bytes(8) + fields + children)


def mp4_track(
    entry: bytes,
    handler: bytes = b"soun",
    timescale: int = 48000,
    duration: int = 145024,
    edit: tuple[int, int] | None = (3000, 1024),  # milliseconds shown, priming frames skipped
    mdhd_version: int = 0,
    sample_tables: bytes = box(b"stsz", bytes(12)),
) -> bytes:
    times = ">IQ" if mdhd_version else ">II"
    mdhd = full_box(
        b"mdhd",
        bytes(16 if mdhd_version else 8) + struct.pack(times, timescale, duration) + bytes(4),
        version=mdhd_version,
    )
    hdlr = full_box(b"hdlr", bytes(4) + handler + bytes(13))
    stbl = box(b"stbl", full_box(b"stsd", struct.pack(">I", 1) + entry) + sample_tables)
    mdia = box(b"mdia", mdhd + hdlr + box(b"minf", stbl))
    elst = struct.pack(">IIiI", 1, *edit, 0x10000) if edit else b""
    edts = box(b"edts", full_box(b"elst", elst)) if edit else b""
    return box(b"trak", full_box(b"tkhd", bytes(80)) + edts + mdia)


def mp4(
    *tracks: bytes,
    brand: bytes = b"M4A ",
    moov_first: bool = False,
    media: bytes = bytes(2000),
    before_tracks: bytes = b"",
) -> bytes:
    # creation and modification times, timescale and duration, 76 bytes, the next track ID
    next_track_id = struct.pack(">I", len(tracks) + 1)
    mvhd = full_box(b"mvhd", bytes(8) + struct.pack(">II", 1000, 3000) + bytes(76) + next_track_id)
    moov = box(b"moov", mvhd + before_tracks + b"".join(tracks))
    ftyp = box(b"ftyp", brand + bytes(4) + brand + b"isom")
    mdat = box(b"mdat", media)
    return ftyp + (moov + mdat if moov_first else mdat + moov)


def aac_track(config: bytes) -> bytes:
    return mp4_track(sample_entry(b"mp4a", esds(config)))


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (AAC_LC_48K_STEREO, ("aac-lc", 48000, 2)),
        # Implicit SBR: the header says AAC-LC at 22.05 kHz mono, and that is what is reported
        (bit_fields((2, 5), (7, 4), (1, 4), (0, 3)), ("aac-lc", 22050, 1)),
        # Explicit SBR (object type 5, then the output rate, then the core's type)
        (bit_fields((5, 5), (6, 4), (2, 4), (3, 4), (2, 5)), ("he-aac", 48000, 2)),
        (bit_fields((29, 5), (6, 4), (1, 4), (3, 4), (2, 5)), ("he-aac-v2", 48000, 2)),
        # Backward-compatible explicit signalling, after the core's configuration
        (
            bit_fields((2, 5), (6, 4), (2, 4), (0, 3), (0x2B7, 11), (5, 5), (1, 1), (3, 4)),
            ("he-aac", 48000, 2),
        ),
        (
            bit_fields(
                *((2, 5), (6, 4), (1, 4), (0, 3), (0x2B7, 11), (5, 5), (1, 1), (3, 4)),
                *((0x548, 11), (1, 1)),
            ),
            ("he-aac-v2", 48000, 2),
        ),
        (bit_fields((2, 5), (15, 4), (44056, 24), (1, 4), (0, 3)), ("aac-lc", 44056, 1)),
        (bit_fields((31, 5), (10, 6), (4, 4), (2, 4)), ("aac", 44100, 2)),  # USAC, escaped
    ],
)
def test_aac_configurations(config: bytes, expected: tuple[str, int, int]) -> None:
    info = sniff(mp4(aac_track(config)))

    assert (info.codec, info.sample_rate, info.channels) == expected


def test_alac_and_amr_tracks() -> None:
    alac_config = struct.pack(">IBBBBBBHIII", 4096, 0, 24, 40, 10, 14, 2, 255, 0, 0, 96000)
    alac = sample_entry(b"alac", full_box(b"alac", alac_config), rate=0)
    amr = sample_entry(b"samr", box(b"damr", bytes(9)), channels=1, rate=8000)
    amr_wb = sample_entry(b"sawb", box(b"damr", bytes(9)), channels=1, rate=16000)

    assert astuple(sniff(mp4(mp4_track(alac)))) == ("alac", 96000, 2, 24, 3.0)
    assert astuple(sniff(mp4(mp4_track(amr), brand=b"3gp4"))) == ("amr-nb", 8000, 1, 0, 3.0)
    assert astuple(sniff(mp4(mp4_track(amr_wb), brand=b"3g2a"))) == ("amr-wb", 16000, 1, 0, 3.0)
    assert sniff(mp4(mp4_track(amr_wb), brand=b"3g2a")).format == "3g2"


def astuple(info: MediaInfo) -> tuple[str, int, int, int, float]:
    return info.codec, info.sample_rate, info.channels, info.bits, info.duration_seconds


def test_mpeg4_durations_from_the_edit_list_else_the_media_header() -> None:
    track = sample_entry(b"mp4a", esds())
    # The edit list shows 3 s (of the movie's 1000 per second), skipping 1024 priming frames
    assert sniff(mp4(mp4_track(track))).duration_seconds == 3.0
    # Without one, the media's duration: priming and end padding included
    without = mp4(mp4_track(track, edit=None, duration=145024, mdhd_version=1))
    assert sniff(without).duration_seconds == pytest.approx(145024 / 48000)
    # A fragmented file's moov says 0: not known
    fragmented = sniff(mp4(mp4_track(track, edit=None, duration=0)))
    assert (fragmented.duration_seconds, fragmented.duration_known) == (0.0, False)


def test_64_bit_box_sizes_are_read() -> None:
    data = mp4(aac_track(AAC_LC_48K_STEREO), moov_first=True)
    mdat = data.index(b"mdat") - 4
    large = data[:mdat] + struct.pack(">I4sQ", 1, b"mdat", len(data) - mdat + 8) + data[mdat + 8 :]

    assert sniff(large).duration_seconds == 3.0


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        (sample_entry(b"Opus", box(b"dOps", bytes(11))), "holds Opus"),
        (sample_entry(b".mp3"), "holds MP3"),
        (sample_entry(b"mp4a", esds(object_type=0x6B)), "holds MP3 (MPEG-1 audio)"),
        (sample_entry(b"mp4a", esds(bit_fields((3, 5), (3, 4), (2, 4)))), "type 3 (AAC SSR)"),
        (sample_entry(b"enca", esds()), "encrypted (DRM-protected) audio"),
        (sample_entry(b"xyz1"), "holds the codec 'xyz1'"),
    ],
)
def test_mpeg4_audio_in_other_codecs_is_refused_naming_them(entry: bytes, named: str) -> None:
    with pytest.raises(UnsupportedEncoding, match=re.escape(named)):
        sniff(mp4(mp4_track(entry)))


def test_mpeg4_without_audio_or_with_video_anywhere_is_refused() -> None:
    audio = aac_track(AAC_LC_48K_STEREO)
    chapters = mp4_track(sample_entry(b"text"), handler=b"text")
    video = mp4_track(sample_entry(b"avc1"), handler=b"vide")

    with pytest.raises(UnsupportedEncoding, match="no audio track"):
        sniff(mp4(chapters))
    with pytest.raises(UnsupportedEncoding, match="video track"):
        sniff(mp4(audio, chapters, video))
    assert sniff(mp4(chapters, audio)).codec == "aac-lc"  # an audiobook's chapter titles


def test_mpeg4_written_without_its_moov_is_refused() -> None:
    # Given a recorder that stopped before writing the moov: its mdat runs to the end (size 0)
    data = box(b"ftyp", b"3gp4" + bytes(4) + b"3gp4isom") + struct.pack(">I4s", 0, b"mdat")

    with pytest.raises(CorruptHeader, match="no 'moov' box"):
        sniff(data + bytes(100_000), 100_000 + len(data))


def test_a_moov_after_the_media_is_asked_for_by_its_offset() -> None:
    # Given an M4A whose moov follows 200 KB of media data
    data = mp4(aac_track(AAC_LC_48K_STEREO), media=bytes(200_000))
    moov_at = data.index(b"moov") - 4

    # Then the head names the range to read: where the moov starts, 64 KiB at most
    assert sniff(data[:65536], len(data)).next_read == (moov_at, len(data))
    assert sniff(data[:65536], len(data), data[moov_at:]).duration_seconds == 3.0


def test_a_moov_longer_than_the_first_read_is_read_in_two() -> None:
    # Given a moov at the end whose cover art (udta) comes before its track
    cover_art = box(b"udta", bytes(150_000))
    data = mp4(aac_track(AAC_LC_48K_STEREO), media=bytes(200_000), before_tracks=cover_art)
    moov_at = data.index(b"moov") - 4
    head = data[:65536]

    # Then the first read is 64 KiB; the second, the rest of the box as its header says
    first = sniff(head, len(data)).next_read
    assert first == (moov_at, moov_at + 65536)
    second = sniff(head, len(data), data[moov_at : moov_at + 65536]).next_read
    assert second == (moov_at + 65536, len(data))
    assert sniff_as_inspect(data).duration_seconds == 3.0


def test_a_moov_box_larger_than_inspect_reads_is_refused() -> None:
    padding = box(b"free", bytes(2 * 1024 * 1024))
    data = mp4(aac_track(AAC_LC_48K_STEREO), media=bytes(200_000), before_tracks=padding)

    with pytest.raises(UnsupportedEncoding, match="more than Inspect reads"):
        sniff_as_inspect(data)


def test_a_faststart_moov_longer_than_the_head_needs_no_more_once_every_track_is_read() -> None:
    # Given a moov first whose sample tables make it longer than the head
    entry = sample_entry(b"mp4a", esds())
    data = mp4(mp4_track(entry, sample_tables=box(b"stsz", bytes(200_000))), moov_first=True)

    info = sniff(data[:4096], len(data))

    assert (info.complete, info.duration_seconds, info.codec) == (True, 3.0, "aac-lc")


@pytest.mark.parametrize(
    ("subtype", "codec", "bits"),
    [("PCM_16", "pcm", 16), ("PCM_24", "pcm", 24), ("FLOAT", "float", 32), ("ULAW", "ulaw", 8)],
)
def test_caf_written_by_libsndfile_has_an_exact_duration(
    subtype: str, codec: str, bits: int
) -> None:
    info = sniff(soundfile_audio("CAF", subtype, seconds=1.25, rate=22050, channels=2))

    assert (info.format, info.content_type) == ("caf", "audio/x-caf")
    assert info.duration_seconds == pytest.approx(1.25, abs=1e-4)
    assert (info.sample_rate, info.channels, info.bits, info.codec) == (22050, 2, bits, codec)


def test_caf_packet_table_counts_the_frames_of_variable_packets() -> None:
    # Given Apple's layout: ALAC (16-bit source) with its packet table before the audio
    table = pakt(packets=12, valid_frames=45_000, priming=0, remainder=4152)
    alac = caf(b"alac", rate=48000.0, packet=(0, 4096), flags=1, before_data=table)
    # and AAC, whose magic cookie is an ES descriptor
    cookie = caf_chunk(b"kuki", esds(bit_fields((5, 5), (6, 4), (2, 4), (3, 4), (2, 5)))[12:])
    aac = caf(b"aac ", rate=48000.0, packet=(0, 1024), before_data=cookie + table)

    assert astuple(sniff(alac)) == ("alac", 48000, 1, 16, 45_000 / 48000)
    assert astuple(sniff(aac)) == ("he-aac", 48000, 1, 0, 45_000 / 48000)


def test_caf_packet_table_after_the_audio_is_asked_for_where_it_starts() -> None:
    table = pakt(packets=12, valid_frames=45_000, priming=0, remainder=4152)
    data = caf(b"alac", rate=48000.0, packet=(0, 4096), audio=bytes(100_000), after_data=table)
    pakt_at = data.rindex(b"pakt")

    assert sniff(data[:4096], len(data)).next_read == (pakt_at, pakt_at + 36)
    assert sniff(data[:4096], len(data), data[pakt_at:]).duration_seconds == 45_000 / 48000
    # Without a packet table, how long it is is not known
    unknown = sniff(data[:pakt_at])
    assert (unknown.duration_seconds, unknown.duration_known) == (0.0, False)


def test_caf_data_of_unknown_size_runs_to_the_end_and_a_cut_one_is_refused() -> None:
    assert sniff(caf(audio=bytes(16000), data_size=-1)).duration_seconds == 1.0
    with pytest.raises(CorruptHeader, match="truncated"):
        sniff(caf(audio=bytes(16000))[:-100])


def test_adts_behind_an_id3_tag_and_its_estimate_from_the_head() -> None:
    data = phone_audio()["aac-lc-44k-stereo.aac"]
    whole = sniff(data)

    # 131 frames of 1024 samples: the 3 s of the signal, priming and padding
    assert (whole.duration_seconds, whole.codec) == (131 * 1024 / 44100, "aac-lc")
    assert sniff(id3v2(300) + data).duration_seconds == whole.duration_seconds
    # From a head of 16 KiB: the mean frame size there, over the whole file, an estimate
    # (this file ends in larger frames than it starts with), exact for a constant bitrate
    estimate = sniff(data[:16384], len(data)).duration_seconds
    assert estimate == pytest.approx(whole.duration_seconds, rel=0.05)
    constant = adts_frame(300) * 2000
    assert sniff(constant[:16384], len(constant)).duration_seconds == 2000 * 1024 / 44100


def adts_frame(length: int, profile: int = 1, rate_index: int = 4, channels: int = 2) -> bytes:
    """An ADTS frame of `length` bytes: header without CRC (one raw block), zero payload."""
    header = bytes(
        [
            0xFF,
            0xF1,
            profile << 6 | rate_index << 2 | channels >> 2,
            (channels & 3) << 6 | length >> 11,
            length >> 3 & 0xFF,
            (length & 7) << 5 | 0x1F,
            0xFC,
        ]
    )
    return header + bytes(length - 7)


def test_adts_whose_rate_changes_or_with_aac_ssr_is_refused() -> None:
    data = bytearray(phone_audio()["aac-lc-44k-stereo.aac"])
    ssr = data.copy()
    ssr[2] = ssr[2] & 0x3F | 2 << 6  # profile 2: AAC SSR, which FFmpeg does not decode
    second = data.index(b"\xff\xf1", 7)
    data[second + 2] ^= 0x04  # the second frame's rate index

    with pytest.raises(UnsupportedEncoding, match="AAC SSR"):
        sniff(bytes(ssr))
    with pytest.raises(CorruptHeader, match="changes the sample rate"):
        sniff(bytes(data))


def test_amr_duration_counts_20_ms_frames_or_estimates_from_the_head() -> None:
    data = amr_wb(frames=3000)

    assert sniff(data).duration_seconds == 60.0
    assert sniff(data[:4096], len(data)).duration_seconds == 60.0  # one mode: one size


@pytest.mark.parametrize(
    ("magic", "fmt"), [(b"#!AMR_MC1.0\n", "amr"), (b"#!AMR-WB_MC1.0\n", "amr-wb")]
)
def test_multichannel_amr_is_refused_by_name(magic: bytes, fmt: str) -> None:
    with pytest.raises(UnsupportedEncoding) as raised:
        sniff(magic + struct.pack(">I", 2) + bytes(300))

    assert raised.value.format == fmt
    assert f"multichannel AMR ({magic.decode().strip()})" in str(raised.value)
