"""Malformed and hostile uploads, for tests: each must end REJECTED with a specific reason.

Every file is small and built in memory, deterministically; the whole corpus takes a fraction
of a second. A bomb is a short file whose header or compressed stream promises a huge image;
a recording of "2^31 frames" is a few bytes whose header lies. `hostile_files()` lists each
with the step of the workflow that must refuse it and a fragment of the reason it must give;
`awkward_key()` files them under the keys that break naive key handling.

    for index, case in enumerate(hostile_files()):
        upload(case.content, awkward_key(index, case.name))
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Literal

from mediaflow.corpora import images
from mediaflow.corpora.containers import (
    aiff_file,
    apng_frames,
    deflated_zeros,
    encoded_audio,
    extended80,
    flac_streaminfo,
    gif_animation,
    heic_ftyp,
    iso_box,
    jpeg_segment,
    malformed_icc_profile,
    one_pixel_idat,
    png_chunk,
    png_file,
    random_bytes,
    riff_chunk,
    tiff_ifd_loop,
    wav_file,
    webp_canvas,
    with_sof,
    zip_archive,
)

Stage = Literal["inspect", "thumbnail", "audio"]

S3_MAX_KEY_BYTES = 1024


@dataclass(frozen=True)
class HostileFile:
    name: str
    """A file name, unique in the corpus, with the extension the uploader chose (it may lie)."""
    content: bytes
    expected_reason_fragment: str
    """Text that the rejection reason must contain."""
    rejected_by: Stage
    """The step that must refuse it: Inspect object, Make thumbnail or Analyze audio."""


# ---------------------------------------------------------------------------------------
# The corpus.


def hostile_files() -> list[HostileFile]:
    """Every hostile file, the step that must refuse it, and what its reason must say."""
    jpeg = images.photo_jpeg(64, 48, gps=False)
    png = images.encode(images.photo(64, 48, noise=0), "PNG")
    flac = encoded_audio("FLAC", "PCM_16")
    wav = encoded_audio("WAV", "PCM_16")
    sof, scan, idat = jpeg.index(b"\xff\xc0"), jpeg.index(b"\xff\xda"), png.index(b"IDAT")
    blank_app = jpeg_segment(0xE4, bytes(0xFFFF - 2))  # APP4: 64 KiB of nothing
    return [
        # Nothing, or next to nothing.
        HostileFile("empty.jpg", b"", "file is 0 bytes", "inspect"),
        HostileFile("one-byte.png", b"\x89", "not a supported image or audio format", "inspect"),
        HostileFile(
            "utf16-bom.wav",
            "\ufeffRIFF WAVE fmt, honestly a recording".encode("utf-16-le"),
            "text in UTF-16, with a byte order mark",
            "inspect",
        ),
        HostileFile(
            "random.jpg", random_bytes(4096, 0), "binary data starting 5f 82 c2", "inspect"
        ),
        # Truncated.
        HostileFile("cut-in-header.jpg", jpeg[: sof + 5], "it looks truncated", "inspect"),
        HostileFile("cut-in-scan.jpg", jpeg[: scan + 200], "image file is truncated", "thumbnail"),
        HostileFile("cut-in-ihdr.png", png[:20], "it looks truncated", "inspect"),
        HostileFile("cut-in-idat.png", png[: idat + 100], "image file is truncated", "thumbnail"),
        HostileFile("cut-in-fmt.wav", wav[:30], "it looks truncated", "inspect"),
        HostileFile("cut-in-streaminfo.flac", flac[:30], "it looks truncated", "inspect"),
        HostileFile("cut-in-frames.flac", flac[: len(flac) // 2], "lost sync", "audio"),
        # Names that lie about the type, and files that are no media at all.
        HostileFile(
            "invoice.jpg", b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n", "PDF document", "inspect"
        ),
        HostileFile(
            "song.mp3",
            b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
            "HTML document",
            "inspect",
        ),
        HostileFile(
            "logo.png",
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>',
            "XML/SVG document",
            "inspect",
        ),
        HostileFile("holiday.wav", zip_archive(), "ZIP archive", "inspect"),
        HostileFile("camera.gif", b"\x7fELF\x02\x01\x01" + bytes(57), "ELF executable", "inspect"),
        HostileFile("setup.heic", b"MZ\x90\x00" + bytes(124), "Windows executable", "inspect"),
        # Polyglots: a valid image that is also a ZIP (or a JAR), and a GIF that is JavaScript.
        HostileFile("jpeg-zip.jpg", jpeg + zip_archive(), "also a ZIP archive", "thumbnail"),
        HostileFile(
            "gifar.gif",
            gif_animation(1) + zip_archive("Exploit.class", b"\xca\xfe\xba\xbe"),
            "also a ZIP archive",
            "thumbnail",
        ),
        HostileFile(
            "gif-js.gif",
            b"GIF89a/*\x10\x00\x00\x00\x00*/=1;alert(document.domain);//;",
            "the GIF image cannot be decoded",
            "thumbnail",
        ),
        # Bombs, and sizes no camera makes.
        HostileFile(
            "bomb.png",  # 2.5 gigapixels, 312 MB of scanlines in 300 KB
            png_file(50_000, 50_000, png_chunk(b"IDAT", deflated_zeros(50_000 * 6251)), depth=1),
            "image is 2500000000 pixels (50000x50000); the limit is MaxImagePixels=40000000",
            "inspect",
        ),
        HostileFile(
            "idat-bomb.png",  # one pixel, and 1 GiB of scanlines behind it
            png_file(1, 1, png_chunk(b"IDAT", deflated_zeros(1 << 30))),
            "more than its 1x1 pixels can need",
            "thumbnail",
        ),
        HostileFile(
            "iccp-bomb.png",
            png_file(
                1, 1, png_chunk(b"iCCP", b"icc\0\0" + deflated_zeros(1 << 30)), one_pixel_idat()
            ),
            "compressed text or ICC profile inflates to more than",
            "thumbnail",
        ),
        HostileFile(
            "ztxt-bomb.png",
            png_file(
                1,
                1,
                png_chunk(b"zTXt", b"Comment\0\0" + deflated_zeros(1 << 30)),
                one_pixel_idat(),
            ),
            "compressed text or ICC profile inflates to more than",
            "thumbnail",
        ),
        HostileFile(
            "65535x65535.jpg",
            with_sof(jpeg, 65535, 65535),
            "image is 4294836225 pixels (65535x65535); the limit is MaxImagePixels=40000000",
            "inspect",
        ),
        HostileFile(
            "sof-past-the-inspection-window.jpg",  # inspect reads 1 MiB: the size hides after it
            jpeg[:2] + blank_app * 17 + with_sof(jpeg, 65535, 65535)[2:],
            "than the 40000000 allowed (MAX_IMAGE_PIXELS): Image size (4294836225 pixels)",
            "thumbnail",
        ),
        HostileFile("0x0.jpg", with_sof(jpeg, 0, 0), "the frame header says 0x0 pixels", "inspect"),
        HostileFile(
            "forged-app1-length.jpg",
            jpeg[:2] + jpeg_segment(0xE1, b"Exif\0\0" + bytes(100), length=0xFFFF),
            "it looks truncated",
            "inspect",
        ),
        HostileFile(
            "app0-length-one.jpg",
            jpeg[:2] + jpeg_segment(0xE0, b"", length=1) + jpeg[2:],
            "has length 1",
            "inspect",
        ),
        HostileFile(
            "65535x65535.gif",
            b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0) + b";",
            "image is 4294836225 pixels (65535x65535)",
            "inspect",
        ),
        HostileFile(
            "5000-frames.gif", gif_animation(5000), "the GIF has more than 1000 frames", "thumbnail"
        ),
        HostileFile(
            "2-billion-frames.png",
            apng_frames(2**31 - 1),
            "declares 2147483647 frames; at most 1000",
            "thumbnail",
        ),
        HostileFile(
            "16777216x16777216.webp",
            webp_canvas(2**24, 2**24),
            "image is 281474976710656 pixels",
            "inspect",
        ),
        HostileFile(
            "negative-width.bmp",
            b"BM" + bytes(12) + struct.pack("<IiiHH", 40, -64, 48, 1, 24) + bytes(24),
            "the header says -64x48 pixels",
            "inspect",
        ),
        HostileFile("0-wide.png", png_file(0, 48, one_pixel_idat()), "IHDR says 0x48", "inspect"),
        HostileFile(
            "huge-exif.png",
            png_file(
                1, 1, png_chunk(b"eXIf", b"MM\0*\0\0\0\x08" + bytes(200_000)), one_pixel_idat()
            ),
            "the EXIF block is 200008 bytes; the Exif standard allows at most 65527",
            "thumbnail",
        ),
        HostileFile(
            "malformed-icc.jpg",
            images.encode(images.photo(64, 48), "JPEG", icc_profile=malformed_icc_profile()),
            "ICC colour profile (132 bytes) is malformed",
            "thumbnail",
        ),
        HostileFile(
            "bad-ihdr-crc.png",
            png[:8] + png_chunk(b"IHDR", png[16:29], crc=0xDEADBEEF) + png[33:],
            "bad header checksum in b'IHDR'",
            "thumbnail",
        ),
        HostileFile(
            "ifd-loop.tiff",
            tiff_ifd_loop(),
            "the chain of IFDs loops back to the IFD at byte 8",
            "inspect",
        ),
        HostileFile(
            "box-size-zero.heic",
            heic_ftyp() + iso_box(b"mdat", bytes(64), size=0),
            "there is no 'meta' box",
            "inspect",
        ),
        HostileFile(
            "box-too-big.heic",
            heic_ftyp() + iso_box(b"meta", bytes(64), size=0xFFFFFFF0),
            "box b'meta' at byte 24 has an impossible size 4294967280",
            "inspect",
        ),
        # Audio headers that lie.
        HostileFile(
            "0-channels.wav",
            wav_file(channels=0, block_align=2),
            "the header says 0 channels",
            "inspect",
        ),
        HostileFile(
            "65535-channels.wav",
            wav_file(channels=65535, block_align=2),
            "the header says 65535 channels",
            "inspect",
        ),
        HostileFile("0-hz.wav", wav_file(rate=0), "the sample rate is 0 Hz", "inspect"),
        HostileFile(
            "2-to-the-31-frames.wav",  # IMA ADPCM: the fact chunk counts the frames
            wav_file(
                tag=0x11,
                bits=4,
                block_align=256,
                extra=riff_chunk(b"fact", struct.pack("<I", 2**31)),
                data=bytes(512),
            ),
            "audio is 268435.456 seconds long; the limit is MaxAudioSeconds=7200",
            "inspect",
        ),
        HostileFile("block-align-0.wav", wav_file(block_align=0), "block align 0", "inspect"),
        HostileFile("0-hz.flac", flac_streaminfo(0, 2, 16, 1000), "sample rate is 0 Hz", "inspect"),
        HostileFile(
            "2-to-the-36-samples.flac",
            flac_streaminfo(44100, 2, 16, 2**36 - 1),
            "the limit is MaxAudioSeconds=7200",
            "inspect",
        ),
        HostileFile(
            "garbage-page.ogg",
            b"OggS\x00\x02" + random_bytes(20, 2) + b"\x01\x1e" + random_bytes(30, 3),
            "not Vorbis or Opus",
            "inspect",
        ),
        HostileFile(
            "tag-without-frames.mp3",
            b"ID3\x04\x00\x00\x00\x00\x00\x0a" + bytes(10) + bytes(8000),
            "no MPEG audio frame follows the ID3 tag",
            "inspect",
        ),
        HostileFile(
            "tag-to-the-end.mp3",
            b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + bytes(100),
            "the ID3v2 tag runs to the end of the file",
            "inspect",
        ),
        HostileFile(
            "nan-hz.aiff",
            aiff_file(extended80(0x7FFF, 0xC000000000000000)),
            "sample rate is not a number (NaN)",
            "inspect",
        ),
        HostileFile(
            "infinite-hz.aiff",
            aiff_file(extended80(0x7FFF, 0x8000000000000000)),
            "the sample rate is inf Hz",
            "inspect",
        ),
        HostileFile(
            "negative-hz.aiff",
            aiff_file(extended80(0x8000 | 16383 + 15, 0xAC44 << 48)),  # -44100
            "the sample rate is -44100 Hz",
            "inspect",
        ),
        HostileFile(
            "0-channels.au",
            b".snd" + struct.pack(">IIIII", 24, 100, 3, 8000, 0) + bytes(100),
            "the header says 0 channels",
            "inspect",
        ),
    ]


# ---------------------------------------------------------------------------------------
# Keys.

KEY_STYLES = (
    "plain",
    "spaces",
    "plus",
    "percent",
    "emoji",
    "right-to-left override",
    "right-to-left script",
    "combining marks",
    "longest",
)


def awkward_key(index: int, name: str, prefix: str = "uploads/hostile-device/") -> str:
    """A key for `name` in the style `KEY_STYLES[index % len(KEY_STYLES)]`: spaces, '+' and
    '%' (which URL encoding in S3 events turns into one another), emoji, bidirectional
    overrides, combining marks, or exactly `S3_MAX_KEY_BYTES` bytes of UTF-8."""
    style = KEY_STYLES[index % len(KEY_STYLES)]
    stem = {
        "plain": "",
        "spaces": "a  name with spaces ",
        "plus": "c++ 1+1=2 ",
        "percent": "100% sure %20 %2B %zz ",
        "emoji": "📷🔥 👩‍👩‍👧 ",
        "right-to-left override": "photo \u202egnp.",  # shows as "photo .png..." reversed
        "right-to-left script": "תמונה صورة ",
        "combining marks": "cafe\u0301 Z\u0351\u0333a\u0308\u0353l\u0316g\u0354o\u0338 ",
        "longest": "",
    }[style]
    key = f"{prefix}{stem}{name}"
    if style == "longest":
        room = S3_MAX_KEY_BYTES - len(key.encode())
        key = f"{prefix}{'é' * (room // 2)}{'x' * (room % 2)}{name}"
        assert len(key.encode()) == S3_MAX_KEY_BYTES
    return key
