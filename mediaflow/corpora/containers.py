"""The byte structures of each media format, built by hand so that tests can fill them with lies
(mediaflow.corpora.hostile): PNG chunks, JPEG segments, RIFF/WAV chunks, FLAC STREAMINFO, AIFF,
ISO BMFF boxes, ZIP archives, GIF and APNG animations, TIFF IFDs and WebP canvases.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from io import BytesIO

import numpy as np
import soundfile as sf


def deflated_zeros(size: int) -> bytes:
    """A zlib stream that inflates to `size` zero bytes, in about 1/1000 of that, made in
    milliseconds whatever the size.

    One MiB of zeros is compressed once, after a full flush (so that it refers to nothing
    before it), and repeated; a final empty block and the Adler-32 of `size` zeros (known
    without computing: its low half stays 1, its high half counts the bytes) close it.
    """
    mib = 1 << 20
    compressor = zlib.compressobj(9)
    header = compressor.compress(b"") + compressor.flush(zlib.Z_FULL_FLUSH)  # b"x\xda" + sync
    one_mib = compressor.compress(bytes(mib)) + compressor.flush(zlib.Z_FULL_FLUSH)
    rest = compressor.compress(bytes(size % mib)) + compressor.flush(zlib.Z_FULL_FLUSH)
    final_block = b"\x03\x00"  # BFINAL, fixed Huffman codes, end of block at once
    adler32 = (size % 65521) << 16 | 1
    return header + one_mib * (size // mib) + rest + final_block + struct.pack(">I", adler32)


def png_chunk(kind: bytes, body: bytes, *, crc: int | None = None) -> bytes:
    """One PNG chunk; `crc` replaces the correct checksum."""
    checksum = zlib.crc32(kind + body) if crc is None else crc
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", checksum)


def png_file(width: int, height: int, *chunks: bytes, depth: int = 8, colour: int = 0) -> bytes:
    """The PNG signature, an IHDR with the fields as given, the chunks, and IEND."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + png_chunk(b"IHDR", ihdr) + b"".join(chunks) + png_chunk(b"IEND", b"")


def one_pixel_idat() -> bytes:
    """The IDAT of a 1x1 8-bit grey PNG: filter byte 0, pixel 0."""
    return png_chunk(b"IDAT", zlib.compress(b"\0\0"))


def jpeg_segment(marker: int, body: bytes, *, length: int | None = None) -> bytes:
    """A JPEG marker segment; `length` replaces the true length field."""
    size = len(body) + 2 if length is None else length
    return struct.pack(">BBH", 0xFF, marker, size) + body


def jpeg_sof(width: int, height: int) -> bytes:
    """A baseline frame header (SOF0) for three 8-bit components."""
    components = b"".join(struct.pack(">BBB", i, 0x11, 0) for i in (1, 2, 3))
    return jpeg_segment(0xC0, struct.pack(">BHHB", 8, height, width, 3) + components)


def with_sof(jpeg: bytes, width: int, height: int) -> bytes:
    """`jpeg` with its (baseline, three-component) frame header replaced by a forged one."""
    sof = jpeg.index(b"\xff\xc0")
    return jpeg[:sof] + jpeg_sof(width, height) + jpeg[sof + 19 :]


def riff_chunk(kind: bytes, body: bytes, *, length: int | None = None) -> bytes:
    """A RIFF chunk, padded to an even length; `length` replaces the true size field."""
    size = len(body) if length is None else length
    return kind + struct.pack("<I", size) + body + b"\0" * (len(body) & 1)


def wav_file(
    channels: int = 1,
    rate: int = 8000,
    bits: int = 16,
    data: bytes = bytes(1600),
    *,
    tag: int = 1,
    block_align: int | None = None,
    extra: bytes = b"",
) -> bytes:
    """A RIFF/WAVE file with the fmt fields as given, however absurd."""
    align = channels * bits // 8 if block_align is None else block_align
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    body = b"WAVE" + riff_chunk(b"fmt ", fmt) + extra + riff_chunk(b"data", data)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def encoded_audio(format: str, subtype: str, rate: int = 8000, seconds: float = 0.5) -> bytes:
    """A 440 Hz tone, encoded by libsndfile."""
    t = np.arange(round(rate * seconds)) / rate
    out = BytesIO()
    sf.write(out, 0.4 * np.sin(2 * np.pi * 440 * t), rate, format=format, subtype=subtype)
    return out.getvalue()


def flac_streaminfo(rate: int, channels: int, bits: int, samples: int) -> bytes:
    """fLaC and a STREAMINFO block with the given fields, and no audio frames."""
    packed = rate << 44 | (channels - 1) << 41 | (bits - 1) << 36 | samples
    info = struct.pack(">HH", 4096, 4096) + bytes(6) + struct.pack(">Q", packed) + bytes(16)
    return b"fLaC" + struct.pack(">I", 0x80 << 24 | len(info)) + info  # 0x80: the last block


def extended80(exponent: int, mantissa: int) -> bytes:
    """An IEEE 754 80-bit extended float (AIFF's sample rate) from its raw fields."""
    return struct.pack(">HQ", exponent, mantissa)


def aiff_file(rate: bytes, channels: int = 1, frames: int = 800) -> bytes:
    """A 16-bit AIFF whose COMM chunk holds the raw 80-bit sample rate `rate`."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return kind + struct.pack(">I", len(body)) + body + b"\0" * (len(body) & 1)

    comm = struct.pack(">hIh", channels, frames, 16) + rate
    ssnd = bytes(8) + bytes(2 * frames * max(channels, 1))
    body = b"AIFF" + chunk(b"COMM", comm) + chunk(b"SSND", ssnd)
    return b"FORM" + struct.pack(">I", len(body)) + body


def iso_box(kind: bytes, body: bytes, *, size: int | None = None) -> bytes:
    """An ISO-BMFF box; `size` replaces the true 32-bit size."""
    return struct.pack(">I", len(body) + 8 if size is None else size) + kind + body


def heic_ftyp() -> bytes:
    return iso_box(b"ftyp", b"heic" + bytes(4) + b"mif1heic")


def zip_archive(name: str = "payload.js", data: bytes = b"alert(document.domain)\n") -> bytes:
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data)
    return out.getvalue()


def gif_animation(frames: int, width: int = 1, height: int = 1) -> bytes:
    """A looping GIF89a of `frames` one-colour frames, written block by block (Pillow would
    merge identical frames)."""
    screen = struct.pack("<HHBBB", width, height, 0x80, 0, 0)  # a 2-colour global table
    loop = b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    delay = b"!\xf9\x04\x00\x0a\x00\x00\x00"  # graphic control extension: 100 ms
    descriptor = b"," + struct.pack("<HHHHB", 0, 0, width, height, 0)
    pixels = b"\x02\x02\x44\x01\x00"  # LZW, minimum code size 2: clear, 0, end
    frame = delay + descriptor + pixels
    return b"GIF89a" + screen + b"\0\0\0\xff\xff\xff" + loop + frame * frames + b";"


def tiff_ifd_loop() -> bytes:
    """A little-endian TIFF of 2x2 grey pixels whose first IFD names itself as the next."""
    entries = [
        (0x0100, 3, 2),  # ImageWidth
        (0x0101, 3, 2),  # ImageLength
        (0x0102, 3, 8),  # BitsPerSample
        (0x0103, 3, 1),  # Compression: none
        (0x0106, 3, 1),  # PhotometricInterpretation: black is zero
        (0x0111, 4, 8 + 2 + 12 * 8 + 4),  # StripOffsets: right after the IFD
        (0x0116, 3, 2),  # RowsPerStrip
        (0x0117, 4, 4),  # StripByteCounts
    ]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, value in entries:
        field = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, 1) + field
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 8) + b"\x10\x20\x30\x40"


def malformed_icc_profile() -> bytes:
    """An ICC header that claims 2 GiB and a tag table of 2^32 - 1 entries, then nothing."""
    header = struct.pack(">I4sI", 0x7FFFFFFF, b"lcms", 0x04300000) + b"mntrRGB XYZ "
    header += bytes(12) + b"acsp" + bytes(128 - 40)
    return header + struct.pack(">I", 0xFFFFFFFF)


def apng_frames(frames: int) -> bytes:
    """A 1x1 APNG whose animation control chunk declares `frames` frames."""
    actl = png_chunk(b"acTL", struct.pack(">II", frames, 0))
    return png_file(1, 1, actl, one_pixel_idat())


def webp_canvas(width: int, height: int) -> bytes:
    """The start of an extended WebP: a VP8X chunk declaring the canvas size, and no image."""
    canvas = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    vp8x = riff_chunk(b"VP8X", bytes(4) + canvas)
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


def random_bytes(size: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()
