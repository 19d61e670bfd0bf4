"""Deterministic images that look like what devices upload, for tests, samples and benchmarks.

Every generator is seeded, so the same arguments give the same picture. Pictures are built
at low resolution and enlarged, with numpy noise on top, so a 24 MP photo takes under a
second and compresses like a real one (a 12 MP JPEG at quality 90 is about 2.5 MB).
"""

from __future__ import annotations

import struct
import zlib
from io import BytesIO
from typing import Any

import numpy as np
from PIL import ExifTags, Image, ImageDraw

MARKER = (220, 20, 20)
"""Colour of the block painted in the top-left corner of every upright `photo`."""

# How a camera stores an upright picture for each EXIF orientation: the inverse of what a
# viewer applies (ImageOps.exif_transpose) to show it.
_STORE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def photo(width: int = 4032, height: int = 3024, *, seed: int = 0, noise: int = 10) -> Image.Image:
    """An upright RGB picture: soft light, a few shapes, sensor noise and a red `MARKER` block.

    The marker (a quarter of the short side, top-left) lets a test see which way up a
    thumbnail came out.
    """
    rng = np.random.default_rng(seed)
    light = rng.integers(30, 226, (4, 6, 3), dtype=np.uint8)
    picture = Image.fromarray(light).resize((width, height), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(picture)
    for _ in range(8):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        radius = int(rng.integers(1, 6)) * min(width, height) // 16 + 1
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)
    side = max(1, min(width, height) // 4)
    draw.rectangle((0, 0, side - 1, side - 1), fill=MARKER)
    if noise:
        pixels = np.asarray(picture, dtype=np.int16)
        pixels += rng.integers(-noise, noise + 1, pixels.shape, dtype=np.int16)
        picture = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return picture


def camera_exif(orientation: int = 1, *, gps: bool = True) -> Image.Exif:
    """EXIF as a phone writes it: make, model, time, orientation and (optionally) a GPS fix."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Apple"
    exif[ExifTags.Base.Model] = "iPhone 15 Pro"
    exif[ExifTags.Base.DateTime] = "2025:06:01 12:34:56"
    exif[ExifTags.Base.Orientation] = orientation
    if gps:
        fix = exif.get_ifd(ExifTags.IFD.GPSInfo)
        fix[ExifTags.GPS.GPSLatitudeRef] = "N"
        fix[ExifTags.GPS.GPSLatitude] = (52.0, 22.0, 12.5)
        fix[ExifTags.GPS.GPSLongitudeRef] = "E"
        fix[ExifTags.GPS.GPSLongitude] = (4.0, 53.0, 41.0)
    return exif


def stored_for_orientation(upright: Image.Image, orientation: int) -> Image.Image:
    """The pixels a camera stores so that a viewer honouring `orientation` shows `upright`."""
    if orientation == 1:
        return upright
    return upright.transpose(_STORE_FOR_ORIENTATION[orientation])


def encode(image: Image.Image, format: str, **params: Any) -> bytes:
    """`image` saved in `format` to bytes."""
    out = BytesIO()
    image.save(out, format, **params)
    return out.getvalue()


def photo_jpeg(
    width: int = 4032,
    height: int = 3024,
    *,
    orientation: int = 1,
    gps: bool = True,
    progressive: bool = False,
    cmyk: bool = False,
    icc_profile: bytes | None = None,
    quality: int = 90,
    seed: int = 0,
) -> bytes:
    """A camera JPEG that displays as `photo(width, height)`, with EXIF (orientation, GPS).

    `icc_profile` is embedded as is: the pixels are then meant in that colour space.
    """
    stored = stored_for_orientation(photo(width, height, seed=seed), orientation)
    if cmyk:
        stored = stored.convert("CMYK")
    return encode(
        stored,
        "JPEG",
        quality=quality,
        progressive=progressive,
        exif=camera_exif(orientation, gps=gps),
        icc_profile=icc_profile,
    )


def adobe_rgb_profile() -> bytes:
    """A matrix/TRC ICC v2 profile with the Adobe RGB (1998) primaries and gamma 563/256.

    Pillow can only create sRGB, LAB and XYZ profiles, and a wide-gamut profile is what
    cameras and editors attach, so it is written out here (ICC.1:2001-04).
    """

    def s15(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ \0\0\0\0" + s15(x) + s15(y) + s15(z)

    description = b"Adobe RGB (1998) compatible, Mediaflow test\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(description)) + description + bytes(12 + 67)
    gamma = b"curv\0\0\0\0" + struct.pack(">IH", 1, 563) + b"\0\0"
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),  # D50, the profile connection space
        (b"rXYZ", xyz(0.60974, 0.31111, 0.01947)),
        (b"gXYZ", xyz(0.20528, 0.62567, 0.06087)),
        (b"bXYZ", xyz(0.14919, 0.06322, 0.74457)),
        (b"rTRC", gamma),
        (b"gTRC", gamma),
        (b"bTRC", gamma),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        body += bytes(-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (
        struct.pack(">I4sI", size, b"none", 0x02100000)
        + b"mntrRGB XYZ "
        + bytes(12)  # creation date
        + b"acsp"
        + bytes(24)  # platform, flags, manufacturer, model, attributes
        + struct.pack(">I", 0)  # perceptual intent
        + s15(0.9642)
        + s15(1.0)
        + s15(0.8249)
        + bytes(48)  # creator, id, reserved
    )
    return header + struct.pack(">I", len(tags)) + table + data


def transparent_png(width: int = 640, height: int = 480, *, seed: int = 0) -> bytes:
    """RGBA PNG: the left half fully transparent over black, the right half an opaque photo.

    Black under the transparent half shows up if a converter drops alpha instead of
    compositing it.
    """
    picture = photo(width, height, seed=seed).convert("RGBA")
    ImageDraw.Draw(picture).rectangle((0, 0, width // 2 - 1, height - 1), fill=(0, 0, 0, 0))
    return encode(picture, "PNG")


def palette_png(width: int = 320, height: int = 240) -> bytes:
    """P-mode PNG with a transparent palette entry as background and an opaque blue disc."""
    picture = Image.new("P", (width, height), 0)
    picture.putpalette([0, 0, 0, 30, 60, 200])  # entry 0 (black) is the transparent one
    ImageDraw.Draw(picture).ellipse((width // 4, height // 4, width * 3 // 4, height * 3 // 4), 1)
    return encode(picture, "PNG", transparency=0)


def _png(width: int, height: int, bit_depth: int, colour_type: int, rows: bytes) -> bytes:
    """A PNG from raw scanlines (each already prefixed with its filter byte)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def png16(width: int = 512, height: int = 256, *, colour: bool = False) -> bytes:
    """16-bit PNG with a left-to-right ramp from black to white (grey, or RGB if `colour`).

    Pillow cannot write 16-bit RGB, so the file is written directly.
    """
    ramp = np.linspace(0, 65535, width).round().astype(">u2")
    channels = 3 if colour else 1
    row = np.repeat(ramp, channels).tobytes()
    return _png(width, height, 16, 2 if colour else 0, (b"\0" + row) * height)


def bomb_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A decompression bomb's header: a huge declared size, almost no data behind it."""
    return _png(width, height, 8, 0, b"\0" * 16)


def animated_gif(width: int = 160, height: int = 120, colours: int = 3) -> bytes:
    """GIF with `colours` frames, each a solid colour from red, green, blue (red first)."""
    palette = [(220, 20, 20), (20, 180, 20), (20, 20, 220)]
    frames = [Image.new("RGB", (width, height), palette[i % 3]) for i in range(colours)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def photo_png(width: int = 4032, height: int = 3024, *, seed: int = 0) -> bytes:
    """`photo` as an RGB PNG, as a screenshot tool or an editor exports it."""
    return encode(photo(width, height, seed=seed), "PNG", compress_level=6)


def photo_webp(
    width: int = 4032, height: int = 3024, *, alpha: bool = False, seed: int = 0
) -> bytes:
    """`photo` as a lossy WebP (with a transparent left half when `alpha`)."""
    picture = photo(width, height, seed=seed)
    if alpha:
        picture = picture.convert("RGBA")
        ImageDraw.Draw(picture).rectangle((0, 0, width // 2 - 1, height - 1), fill=(0, 0, 0, 0))
    return encode(picture, "WEBP", quality=85, exif=camera_exif())


def photo_tiff(width: int = 1600, height: int = 1200, *, seed: int = 0) -> bytes:
    """`photo` as an LZW-compressed TIFF, as a scanner writes it."""
    return encode(photo(width, height, seed=seed), "TIFF", compression="tiff_lzw")


def photo_bmp(width: int = 800, height: int = 600, *, seed: int = 0) -> bytes:
    """`photo` as a BMP."""
    return encode(photo(width, height, seed=seed), "BMP")


def photo_heic(
    width: int = 4032,
    height: int = 3024,
    *,
    orientation: int = 1,
    thumbnail: int | None = 320,
    quality: int = 60,
    seed: int = 0,
) -> bytes:
    """`photo` as an iPhone-like HEIC: 512 px grid tiles, EXIF and an embedded thumbnail.

    x265 runs with its fastest preset: 12 MP take about 5 s on two cores instead of 45 s.
    """
    import pillow_heif  # imported here: only HEIC needs it

    stored = stored_for_orientation(photo(width, height, seed=seed), orientation)
    heif = pillow_heif.from_pillow(stored)
    out = BytesIO()
    heif.save(
        out,
        quality=quality,
        exif=camera_exif(orientation).tobytes(),
        thumbnails=[thumbnail] if thumbnail else [],
        tile_size=512,
        enc_params={"preset": "ultrafast"},
    )
    return out.getvalue()


def photo_avif(width: int = 1600, height: int = 1200, *, seed: int = 0) -> bytes:
    """`photo` as an AVIF (Pillow's own libavif plugin), encoded at the fastest speed."""
    picture = photo(width, height, seed=seed)
    return encode(picture, "AVIF", quality=60, speed=10, exif=camera_exif())


def single_pixel(format: str = "PNG", colour: tuple[int, int, int] = (20, 180, 20)) -> bytes:
    """A 1x1 image, as tracking pixels and broken exporters send."""
    return encode(Image.new("RGB", (1, 1), colour), format)
