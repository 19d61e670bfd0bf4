"""Thumbnails and Rekognition renditions of uploaded images: bytes in, JPEG out, no AWS.

The work is done at the smallest size the format allows: JPEG decodes at 1/2, 1/4 or 1/8
scale (`Image.draft`, libjpeg's DCT scaling), a still WebP at twice the target size
(libwebp's scaler, `scaled_webp`) and HEIF from an embedded thumbnail when one is large
enough; other formats are decoded whole and then reduced by whole factors
(`reducing_gap`) before the final bicubic filter. Colour conversion, compositing and
rotation all run on the small image. Only the first frame of an animation is read.

Transparent images are composited on white and saved as JPEG, like every other image. One
output format keeps the contract simple (`thumbnail.jpg`), JPEG is what Amazon Rekognition
reads, and white is the background that logos, documents and screenshots are made for.

Hostile files are refused before any pixel is decoded (`container_checks`): image/ZIP
polyglots, animations of more than `MAX_ANIMATION_FRAMES` frames, PNGs whose compressed pixel
data is more than their size can need (a zip bomb), EXIF beyond the Exif standard's 64 KiB,
and ICC profiles that are no profile at all. Pillow's own limits (`MAX_IMAGE_PIXELS`, the
size of compressed PNG text) refuse the rest.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from typing import IO

from mediakit import rekognition_input

# Importing the plugins of the accepted formats by name means `Image.open` neither loads
# Pillow's forty others (about 50 ms) nor lets any of them parse untrusted bytes.
from PIL import (
    AvifImagePlugin,  # noqa: F401
    BmpImagePlugin,  # noqa: F401
    ExifTags,
    GifImagePlugin,  # noqa: F401
    Image,
    ImageCms,
    JpegImagePlugin,  # noqa: F401
    PngImagePlugin,
    TiffImagePlugin,  # noqa: F401
    UnidentifiedImageError,
    WebPImagePlugin,  # noqa: F401
)

from thumbnailer import container_checks, scaled_webp
from thumbnailer.errors import CorruptMedia, MediaError, MediaTooLarge, UnsupportedMediaType
from thumbnailer.settings import ThumbnailSettings

FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP", "AVIF")
"""Pillow's names of the formats read; HEIF is added by pillow-heif when one arrives."""

THUMBNAIL_QUALITY = 82
LABEL_SOURCE_QUALITY = 90

MAX_ANIMATION_FRAMES = 1000
"""Animations with more frames are refused as MediaTooLarge. Only the first frame is read
here, but whoever plays the original decodes them all (a 1000-frame GIF runs a minute at
16 fps); services that take animations set similar limits."""
MAX_EXIF_BYTES = 0xFFFF - 2 - len(b"Exif\0\0")
"""The most EXIF that one JPEG APP1 segment carries, which the Exif standard makes the limit
in every container: more is refused as CorruptMedia."""

Source = bytes | IO[bytes]
"""The original: its bytes, or a seekable binary file (such as a spooled download)."""

# ftyp brands of HEVC-coded HEIF, which only pillow-heif decodes (Pillow reads AVIF itself).
_HEIF_BRANDS = frozenset((b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"))
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))

# What a viewer does to stored pixels to show them the right way up, by EXIF orientation.
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class Rendition:
    """A JPEG made from an original image, and what was learnt about the original."""

    jpeg: bytes
    width: int
    height: int
    original_width: int
    """As displayed, that is after EXIF orientation."""
    original_height: int
    orientation: int
    """The original's EXIF orientation, 1..8 (1 when absent)."""
    original_format: str
    """Pillow's name for it: one of `FORMATS`, or HEIF."""


def make_thumbnail(source: Source, size: int = ThumbnailSettings.thumbnail_size) -> Rendition:
    """A JPEG thumbnail, the right way up, in sRGB, without metadata, longest side `size`.

    An image that is already smaller keeps its size: thumbnails are never enlarged.
    """
    return _render(source, size, enlarge_to=0, quality=THUMBNAIL_QUALITY)


def make_label_source(
    source: Source, max_side: int = ThumbnailSettings.label_source_size
) -> Rendition:
    """A JPEG that Amazon Rekognition accepts: sides within 80..10000 px, far below 15 MB.

    The longest side is brought down to `max_side`, plenty for labels. A side under 80 px
    is enlarged to 80 px (a 1x1 image becomes 80x80); a strip too thin to enlarge without
    passing 10000 px on its long side is padded with white instead.
    """
    return _render(
        source, max_side, enlarge_to=rekognition_input.MIN_SIDE, quality=LABEL_SOURCE_QUALITY
    )


def _render(source: Source, max_side: int, enlarge_to: int, quality: int) -> Rendition:
    with _decoding(), _open(source) as original:
        original_format = original.format or ""
        # pillow-heif turns HEIF images upright while decoding and keeps the value aside.
        to_apply = _exif_orientation(original)
        orientation = original.info.get("original_orientation") or to_apply
        profile = _colour_profile(original.info.get("icc_profile"))
        width, height = original.size
        target = _target_size(width, height, max_side, enlarge_to)
        reduced, box = _reduced(original, source, target)
        # Bicubic, as in Pillow's `thumbnail`: after the reduction above, Lanczos would cost
        # twice as much for no visible difference.
        image = reduced.resize(target, Image.Resampling.BICUBIC, box=box, reducing_gap=2.0)
    image = _srgb(_opaque(image), profile)
    if to_apply in _UPRIGHT:
        image = image.transpose(_UPRIGHT[to_apply])
    if to_apply >= 5:
        width, height = height, width
    if enlarge_to and min(image.size) < enlarge_to:
        image = _padded(image, enlarge_to)

    image.info = {}  # nothing of the original's metadata (EXIF, GPS, XMP, comment) goes along
    out = BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=False, progressive=False)
    return Rendition(
        jpeg=out.getvalue(),
        width=image.width,
        height=image.height,
        original_width=width,
        original_height=height,
        orientation=orientation,
        original_format=original_format,
    )


@contextmanager
def _decoding() -> Iterator[None]:
    """Pillow's errors as the state machine's: a bad image is refused, not retried."""
    try:
        yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Pillow names its own threshold (twice MAX_IMAGE_PIXELS); the reason names ours.
        raise MediaTooLarge(
            f"the image has more pixels than the {Image.MAX_IMAGE_PIXELS} allowed"
            f" (MAX_IMAGE_PIXELS): {error}"
        ) from error
    except ValueError as error:
        if "MAX_TEXT" in str(error):  # PngImagePlugin's limits on what compressed chunks inflate to
            raise MediaTooLarge(
                "the PNG's compressed text or ICC profile inflates to more than Pillow's limit"
                f" of {PngImagePlugin.MAX_TEXT_CHUNK} bytes a chunk ({error})"
            ) from error
        raise CorruptMedia(f"the image cannot be decoded: {error}") from error
    # Truncated or damaged data surfaces as any of these, depending on the format's plugin.
    except (OSError, SyntaxError, EOFError, struct.error) as error:
        raise CorruptMedia(f"the image cannot be decoded: {error}") from error


def _open(source: Source) -> Image.Image:
    # Pillow reads every file from its first byte (it seeks to 0), and so do the checks.
    stream = BytesIO(source) if isinstance(source, bytes) else source
    stream.seek(0)
    header = stream.read(32)
    _refuse_hostile_container(stream, header)
    stream.seek(0)
    formats = (_heif_format(), *FORMATS) if _is_heif(header) else FORMATS
    try:
        image = Image.open(stream, formats=formats)
    except UnidentifiedImageError as error:
        raise _unidentified(stream, header, formats) from error
    # Pillow only warns between MAX_IMAGE_PIXELS and twice that; here the limit is hard.
    limit = Image.MAX_IMAGE_PIXELS
    if limit and image.width * image.height > limit:
        image.close()
        raise MediaTooLarge(
            f"{image.width}x{image.height} is {image.width * image.height} pixels,"
            f" more than the {limit} allowed (MAX_IMAGE_PIXELS)"
        )
    exif = image.info.get("exif")
    if isinstance(exif, bytes) and len(exif.removeprefix(b"Exif\0\0")) > MAX_EXIF_BYTES:
        image.close()
        raise _oversized_exif(len(exif.removeprefix(b"Exif\0\0")))
    # GIF and PNG frames were counted above; WebP and AVIF count theirs when they open (for
    # GIF and TIFF, `n_frames` would walk the whole file).
    if image.format in ("WEBP", "AVIF") and getattr(image, "n_frames", 1) > MAX_ANIMATION_FRAMES:
        image.close()
        label = _FORMAT_LABELS.get(str(image.format), str(image.format))
        raise MediaTooLarge(
            f"the {label} animation has {getattr(image, 'n_frames', 1)} frames; at most"
            f" {MAX_ANIMATION_FRAMES} are accepted (MAX_ANIMATION_FRAMES)"
        )
    return image


def _refuse_hostile_container(stream: IO[bytes], header: bytes) -> None:
    """Refuses, from the container's structure alone, what must not be decoded at all."""
    trailer = container_checks.zip_trailer(stream)
    if trailer is not None:
        raise UnsupportedMediaType(
            f"the file is also a ZIP archive (its end record is at byte {trailer}):"
            " image/archive polyglots are refused"
        )
    if header[:6] in (b"GIF87a", b"GIF89a"):
        frames = container_checks.gif_frames(stream, MAX_ANIMATION_FRAMES)
        if frames > MAX_ANIMATION_FRAMES:
            raise MediaTooLarge(
                f"the GIF has more than {MAX_ANIMATION_FRAMES} frames, the most accepted"
                " (MAX_ANIMATION_FRAMES)"
            )
    elif header.startswith(b"\x89PNG\r\n\x1a\n"):
        png = container_checks.png_layout(stream)
        if png is None:
            return  # no IHDR: Pillow says what is wrong
        if png.declared_frames > MAX_ANIMATION_FRAMES:
            raise MediaTooLarge(
                f"the PNG animation declares {png.declared_frames} frames; at most"
                f" {MAX_ANIMATION_FRAMES} are accepted (MAX_ANIMATION_FRAMES)"
            )
        if png.largest_exif_bytes > MAX_EXIF_BYTES:
            raise _oversized_exif(png.largest_exif_bytes)
        if png.pixel_data_bytes > png.most_pixel_data_bytes:
            raise CorruptMedia(
                f"the PNG holds {png.pixel_data_bytes} bytes of compressed pixel data, more"
                f" than its {png.width}x{png.height} pixels can need"
                f" ({png.most_pixel_data_bytes}): a zip bomb, or a corrupt file"
            )


def _oversized_exif(size: int) -> CorruptMedia:
    return CorruptMedia(
        f"the EXIF block is {size} bytes; the Exif standard allows at most {MAX_EXIF_BYTES}"
        " (one JPEG APP1 segment)"
    )


def _unidentified(stream: IO[bytes], header: bytes, formats: tuple[str, ...]) -> MediaError:
    """Why no plugin opened the file: a format whose signature matches but whose plugin
    refused the rest is corrupt (Pillow keeps the plugin's reason to itself); anything else
    is not an image in a supported format."""
    for name in formats:
        factory, accept = Image.OPEN[name]
        if accept is None or accept(header[:16]) is not True:
            continue
        stream.seek(0)
        try:
            factory(stream, "")
        # What Pillow's plugins raise for bad data (ImageFile wraps most in SyntaxError).
        except (SyntaxError, OSError, ValueError, EOFError, struct.error, IndexError) as error:
            label = _FORMAT_LABELS.get(name, name)
            return CorruptMedia(f"the {label} image cannot be decoded: {error}")
    return UnsupportedMediaType(f"not an image in a supported format ({', '.join(FORMATS)}, HEIF)")


_FORMAT_LABELS = {"WEBP": "WebP"}


def _is_heif(header: bytes) -> bool:
    """Whether the ftyp box's major or first compatible brands name HEVC-coded HEIF."""
    brands = (header[i : i + 4] for i in range(8, len(header) - 3, 4))
    return header[4:8] == b"ftyp" and any(brand in _HEIF_BRANDS for brand in brands)


@functools.cache
def _heif_format() -> str:
    import pillow_heif  # imported when the first HEIF arrives: it costs cold starts 15-50 ms

    pillow_heif.register_heif_opener(depth_images=False, aux_images=False)
    return "HEIF"


def _exif_orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except (SyntaxError, ValueError, struct.error):
        return 1  # unreadable EXIF says nothing about orientation; the pixels are still fine
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _target_size(width: int, height: int, max_side: int, enlarge_to: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(width, height))
    if enlarge_to:
        scale = max(scale, enlarge_to / min(width, height))
        scale = min(scale, rekognition_input.MAX_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _reduced(
    original: Image.Image, source: Source, target: tuple[int, int]
) -> tuple[Image.Image, tuple[float, float, float, float] | None]:
    """The original decoded at the smallest size its format allows on the way to `target`,
    and the box of it that `resize` is to take (None: all of it).

    JPEG is decoded at 1/2, 1/4 or 1/8 scale (`draft`); a still WebP by libwebp itself
    (`scaled_webp`), at twice the target size where that is smaller than the image, which
    leaves the final filter the factor of two that `reducing_gap` leaves it for every other
    format, decoded whole. Even unscaled, libwebp's RGB output is a fifth of the memory of
    Pillow's RGBA canvas and its copies.
    """
    if original.format == "WEBP":
        data = source if isinstance(source, bytes) else _read_all(source)
        size = (min(original.width, 2 * target[0]), min(original.height, 2 * target[1]))
        scaled = scaled_webp.decode_scaled(data, size)
        if scaled is not None:
            return scaled, None
    drafted = original.draft(None, target)
    return _resizable(original), drafted[1] if drafted else None


def _read_all(stream: IO[bytes]) -> bytes:
    stream.seek(0)
    return stream.read()


def _resizable(image: Image.Image) -> Image.Image:
    """`image` in a mode that `resize` filters properly (it takes palettes pixel by pixel)."""
    if image.mode.startswith("I;16"):
        return image.convert("I")
    if image.mode not in ("RGBA", "LA") and image.has_transparency_data:
        return image.convert("RGBA")  # a palette's or a colour key's transparency
    if image.mode in ("1", "P"):
        return image.convert("L" if image.mode == "1" else "RGB")
    return image


def _opaque(image: Image.Image) -> Image.Image:
    """`image` composited on white, when it has an alpha channel."""
    if not image.has_transparency_data:
        return image
    rgba = image.convert("RGBA")
    opaque = Image.new("RGB", rgba.size, "white")
    opaque.paste(rgba, mask=rgba.getchannel("A"))
    return opaque


def _colour_profile(icc_profile: bytes | None) -> ImageCms.ImageCmsProfile | None:
    """The embedded ICC profile, parsed before any pixel is decoded; CorruptMedia when the
    bytes the file declares as its profile are no ICC profile."""
    if not icc_profile:
        return None
    try:
        return ImageCms.ImageCmsProfile(BytesIO(icc_profile))
    except (ImageCms.PyCMSError, OSError) as error:
        raise CorruptMedia(
            f"the embedded ICC colour profile ({len(icc_profile)} bytes) is malformed: {error}"
        ) from error


def _srgb(image: Image.Image, profile: ImageCms.ImageCmsProfile | None) -> Image.Image:
    """`image` as 8-bit RGB in sRGB, the colour space that browsers assume for a JPEG."""
    if image.mode == "I":  # 16-bit grey, which a plain conversion would clip to white
        image = image.point(lambda value: value / 257).convert("L")
    if profile is not None:
        try:
            converted = ImageCms.profileToProfile(image, profile, _SRGB, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError):
            pass  # a valid profile meant for other pixels (CMYK on RGB): show them as they are
        else:
            assert converted is not None  # profileToProfile returns None only when inPlace
            return converted
    return image if image.mode == "RGB" else image.convert("RGB")


def _padded(image: Image.Image, min_side: int) -> Image.Image:
    canvas = Image.new("RGB", (max(image.width, min_side), max(image.height, min_side)), "white")
    canvas.paste(image, ((canvas.width - image.width) // 2, (canvas.height - image.height) // 2))
    return canvas
