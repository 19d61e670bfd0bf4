"""Thumbnails and Rekognition renditions of what devices really send (functions/thumbnail)."""

from __future__ import annotations

import io
import struct
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageFile
from thumbnailer import scaled_webp
from thumbnailer.errors import CorruptMedia, MediaTooLarge, UnsupportedMediaType
from thumbnailer.thumbnails import Rendition, make_label_source, make_thumbnail

from mediaflow.corpora import images

WHITE = (255, 255, 255)


def decoded(rendition: Rendition) -> Image.Image:
    image = Image.open(io.BytesIO(rendition.jpeg))
    assert image.format == "JPEG"
    assert image.size == (rendition.width, rendition.height)
    return image


def colour_at(image: Image.Image, x: float, y: float) -> tuple[int, ...]:
    """The mean colour of a small patch around a point given in fractions of the size."""
    left = min(max(round(x * image.width) - 2, 0), max(image.width - 5, 0))
    top = min(max(round(y * image.height) - 2, 0), max(image.height - 5, 0))
    patch = image.crop((left, top, min(left + 5, image.width), min(top + 5, image.height)))
    return tuple(round(c) for c in np.asarray(patch, dtype=float).reshape(-1, 3).mean(axis=0))


def is_marker(colour: tuple[int, ...]) -> bool:
    red, green, blue = colour
    return red > 170 and green < 80 and blue < 80


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float)).mean())


# --- the right way up ---------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_comes_out_upright(orientation: int) -> None:
    # Given a 400x300 picture, marked top-left, as a camera stores it for this orientation
    original = images.photo_jpeg(400, 300, orientation=orientation)

    # When
    rendition = make_thumbnail(original, 300)

    # Then it is shown upright and the facts are those of the picture as displayed
    thumbnail = decoded(rendition)
    assert (rendition.width, rendition.height) == (300, 225)
    assert (rendition.original_width, rendition.original_height) == (400, 300)
    assert rendition.orientation == orientation
    assert is_marker(colour_at(thumbnail, 0.05, 0.05))
    for corner in ((0.95, 0.05), (0.05, 0.95), (0.95, 0.95)):
        assert not is_marker(colour_at(thumbnail, *corner))


def test_heic_from_an_iphone_comes_out_upright() -> None:
    original = images.photo_heic(400, 300, orientation=6)

    rendition = make_thumbnail(original, 300)

    assert rendition.original_format == "HEIF"
    assert (rendition.original_width, rendition.original_height) == (400, 300)
    assert rendition.orientation == 6
    assert (rendition.width, rendition.height) == (300, 225)
    assert is_marker(colour_at(decoded(rendition), 0.05, 0.05))


# --- every format and colour mode ---------------------------------------------------------

CORPUS: dict[str, Callable[[], bytes]] = {
    "baseline JPEG": lambda: images.photo_jpeg(640, 480),
    "progressive JPEG": lambda: images.photo_jpeg(640, 480, progressive=True),
    "CMYK JPEG": lambda: images.photo_jpeg(640, 480, cmyk=True),
    "PNG": lambda: images.photo_png(640, 480),
    "WebP": lambda: images.photo_webp(640, 480),
    "TIFF": lambda: images.photo_tiff(640, 480),
    "BMP": lambda: images.photo_bmp(640, 480),
    "HEIC": lambda: images.photo_heic(640, 480),
    "AVIF": lambda: images.photo_avif(640, 480),
}


@pytest.mark.parametrize("make_original", CORPUS.values(), ids=CORPUS.keys())
def test_every_format_gives_the_same_picture(make_original: Callable[[], bytes]) -> None:
    expected = images.photo(640, 480).resize((300, 225), Image.Resampling.LANCZOS)

    thumbnail = decoded(make_thumbnail(make_original(), 300))

    assert thumbnail.mode == "RGB"
    assert mean_difference(thumbnail, expected) < 8


def test_progressive_and_baseline_jpeg_agree() -> None:
    baseline = decoded(make_thumbnail(images.photo_jpeg(640, 480), 300))
    progressive = decoded(make_thumbnail(images.photo_jpeg(640, 480, progressive=True), 300))

    assert mean_difference(baseline, progressive) < 2


@pytest.mark.parametrize("colour", [False, True], ids=["grey", "RGB"])
def test_16_bit_png_keeps_its_tones(colour: bool) -> None:
    # A black-to-white ramp: clipping 16-bit values to 8 bits would make nearly all of it white
    thumbnail = decoded(make_thumbnail(images.png16(512, 256, colour=colour), 300))

    left, middle, right = (colour_at(thumbnail, x, 0.5)[0] for x in (0.0, 0.5, 1.0))
    assert left < 10
    assert 118 < middle < 138
    assert right > 245


def test_palette_png_with_transparency_is_blue_on_white() -> None:
    thumbnail = decoded(make_thumbnail(images.palette_png(320, 240), 300))

    assert colour_at(thumbnail, 0.02, 0.02) == pytest.approx(WHITE, abs=3)
    assert colour_at(thumbnail, 0.5, 0.5) == pytest.approx((30, 60, 200), abs=6)


@pytest.mark.parametrize(
    "original",
    [images.transparent_png(640, 480), images.photo_webp(640, 480, alpha=True)],
    ids=["RGBA PNG", "WebP with alpha"],
)
def test_transparent_areas_come_out_white(original: bytes) -> None:
    thumbnail = decoded(make_thumbnail(original, 300))

    # The left half is transparent over black pixels: white, not black, is what must show
    assert colour_at(thumbnail, 0.2, 0.5) == pytest.approx(WHITE, abs=4)
    assert colour_at(thumbnail, 0.8, 0.5) != pytest.approx(WHITE, abs=30)


def test_animated_gif_gives_its_first_frame() -> None:
    rendition = make_thumbnail(images.animated_gif(160, 120), 300)

    assert rendition.original_format == "GIF"
    assert colour_at(decoded(rendition), 0.5, 0.5) == pytest.approx((220, 20, 20), abs=6)


def test_animated_webp_gives_its_first_frame() -> None:
    frames = [Image.new("RGB", (800, 600), colour) for colour in ((220, 20, 20), (20, 20, 220))]
    original = images.encode(frames[0], "WEBP", save_all=True, append_images=frames[1:])

    rendition = make_thumbnail(original, 300)

    assert rendition.original_format == "WEBP"
    assert colour_at(decoded(rendition), 0.5, 0.5) == pytest.approx((220, 20, 20), abs=6)


# --- WebP decoded at reduced size by libwebp ----------------------------------------------


def whole_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make thumbnails as Pillow alone would: the WebP decoded whole."""
    monkeypatch.setattr(scaled_webp, "decode_scaled", lambda data, size: None)


def test_still_webp_is_scaled_while_decoding_and_looks_as_when_decoded_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = images.photo_webp(1600, 1200)
    sizes: list[tuple[int, int]] = []
    decode_scaled = scaled_webp.decode_scaled

    def recording(data: bytes, size: tuple[int, int]) -> Image.Image | None:
        sizes.append(size)
        return decode_scaled(data, size)

    monkeypatch.setattr(scaled_webp, "decode_scaled", recording)
    scaled = decoded(make_thumbnail(original, 300))
    whole_decode(monkeypatch)
    whole = decoded(make_thumbnail(original, 300))

    assert sizes == [(600, 450)]  # twice the thumbnail, never the 1600x1200 original
    assert scaled.size == whole.size == (300, 225)
    assert mean_difference(scaled, whole) < 2


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_scaled_webp_comes_out_upright(orientation: int) -> None:
    upright = images.photo(1200, 900)
    stored = images.stored_for_orientation(upright, orientation)
    original = images.encode(stored, "WEBP", quality=85, exif=images.camera_exif(orientation))

    rendition = make_thumbnail(original, 300)

    assert (rendition.width, rendition.height) == (300, 225)
    assert (rendition.original_width, rendition.original_height) == (1200, 900)
    assert is_marker(colour_at(decoded(rendition), 0.05, 0.05))


def test_scaled_webp_with_alpha_is_composited_on_white(monkeypatch: pytest.MonkeyPatch) -> None:
    original = images.photo_webp(1600, 1200, alpha=True)

    scaled = decoded(make_thumbnail(original, 300))
    whole_decode(monkeypatch)
    whole = decoded(make_thumbnail(original, 300))

    assert colour_at(scaled, 0.2, 0.5) == pytest.approx(WHITE, abs=4)
    assert mean_difference(scaled, whole) < 2


def test_without_libwebp_webp_is_decoded_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scaled_webp, "_libwebp", lambda: None)

    assert scaled_webp.decode_scaled(images.photo_webp(800, 600), (400, 300)) is None
    assert decoded(make_thumbnail(images.photo_webp(800, 600), 300)).size == (300, 225)


def test_webp_whose_pixel_data_ends_early_is_corrupt() -> None:
    # A simple lossy WebP (RIFF, WEBP, one VP8 chunk) whose chunk loses its last half, with
    # the sizes in the headers made to agree: the header reads, the pixels run out.
    whole = images.encode(images.photo(1600, 1200), "WEBP", quality=85)
    assert whole[12:16] == b"VP8 "
    vp8 = whole[20 : 20 + len(whole) // 4 * 2]  # an even length: RIFF pads odd chunks
    chunk = b"VP8 " + struct.pack("<I", len(vp8)) + vp8
    original = b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk

    with pytest.raises(CorruptMedia, match="NOT_ENOUGH_DATA"):
        make_thumbnail(original, 300)


def test_single_pixel_image() -> None:
    rendition = make_thumbnail(images.single_pixel(), 300)

    assert (rendition.width, rendition.height) == (1, 1)
    assert decoded(rendition).getpixel((0, 0)) == pytest.approx((20, 180, 20), abs=6)


def test_icc_profile_is_converted_to_srgb() -> None:
    # Given pixels meant in Adobe RGB, which shows them more saturated than sRGB would
    adobe_rgb = images.adobe_rgb_profile()
    original = images.photo_jpeg(640, 480, icc_profile=adobe_rgb)
    upright = images.photo(640, 480).resize((300, 225), Image.Resampling.LANCZOS)
    in_srgb = ImageCms.profileToProfile(
        upright, ImageCms.ImageCmsProfile(io.BytesIO(adobe_rgb)), ImageCms.createProfile("sRGB")
    )
    assert in_srgb is not None

    thumbnail = decoded(make_thumbnail(original, 300))

    assert mean_difference(thumbnail, in_srgb) < 4
    assert mean_difference(thumbnail, upright) > 2 * mean_difference(thumbnail, in_srgb)
    assert "icc_profile" not in thumbnail.info


def test_no_metadata_leaves_the_original() -> None:
    original = images.photo_jpeg(640, 480, orientation=6, gps=True)
    assert b"Exif" in original

    jpeg = make_thumbnail(original, 300).jpeg

    thumbnail = Image.open(io.BytesIO(jpeg))
    assert b"Exif" not in jpeg
    assert not thumbnail.getexif()
    assert set(thumbnail.info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi"}


@pytest.mark.parametrize("size", [64, 300, 1000])
def test_longest_side_is_the_configured_size(size: int) -> None:
    rendition = make_thumbnail(images.photo_jpeg(1200, 900), size)

    assert max(rendition.width, rendition.height) == size
    assert rendition.width / rendition.height == pytest.approx(4 / 3, rel=0.02)


def test_small_images_are_not_enlarged() -> None:
    rendition = make_thumbnail(images.photo_png(200, 100), 300)

    assert (rendition.width, rendition.height) == (200, 100)


def test_reads_a_file_as_well_as_bytes() -> None:
    original = io.BytesIO(images.photo_jpeg(640, 480))

    assert make_thumbnail(original, 300).width == 300


# --- renditions for Amazon Rekognition ----------------------------------------------------


def assert_rekognition_accepts(rendition: Rendition) -> None:
    image = decoded(rendition)
    assert rendition.jpeg.startswith(b"\xff\xd8")
    assert image.mode == "RGB"
    assert len(rendition.jpeg) <= 15 * 1024 * 1024
    assert 80 <= min(image.size) <= max(image.size) <= 10_000


RENDITION_CASES: dict[str, tuple[Callable[[], bytes], tuple[int, int]]] = {
    "WebP": (lambda: images.photo_webp(640, 480), (640, 480)),
    "HEIC": (lambda: images.photo_heic(640, 480, orientation=6), (640, 480)),
    "GIF": (lambda: images.animated_gif(160, 120), (160, 120)),
    "TIFF": (lambda: images.photo_tiff(1600, 1200), (1600, 1200)),
    "panorama over 10000 px": (lambda: images.photo_jpeg(12_000, 1_000), (2048, 171)),
    "1x1": (images.single_pixel, (80, 80)),
    "thin strip": (lambda: images.photo_png(40, 8), (400, 80)),
    "strip too thin to enlarge": (lambda: images.photo_png(5_000, 20), (10_000, 80)),
}


@pytest.mark.parametrize(
    ("make_original", "expected_size"), RENDITION_CASES.values(), ids=RENDITION_CASES.keys()
)
def test_label_source_is_a_jpeg_rekognition_accepts(
    make_original: Callable[[], bytes], expected_size: tuple[int, int]
) -> None:
    rendition = make_label_source(make_original(), 2048)

    assert_rekognition_accepts(rendition)
    assert (rendition.width, rendition.height) == expected_size


def test_label_source_is_upright_and_without_metadata() -> None:
    rendition = make_label_source(images.photo_heic(640, 480, orientation=8), 2048)

    image = decoded(rendition)
    assert is_marker(colour_at(image, 0.05, 0.05))
    assert not image.getexif()


# --- what cannot be read ------------------------------------------------------------------


def test_decompression_bomb_is_too_large() -> None:
    with pytest.raises(MediaTooLarge):
        make_thumbnail(images.bomb_png(20_000, 20_000), 300)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_more_pixels_than_allowed_is_too_large(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pillow only warns up to twice its limit: the function refuses from the limit itself
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 400 * 300 - 1)

    with pytest.raises(MediaTooLarge, match="MAX_IMAGE_PIXELS"):
        make_thumbnail(images.photo_jpeg(400, 300), 300)


@pytest.mark.parametrize(
    "original",
    [
        b"",
        b"definitely not an image" * 40,
        b"%PDF-1.7\n" + bytes(200),
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n" + bytes(200),
        images.encode(Image.new("RGB", (32, 32)), "ICO"),
    ],
    ids=["empty", "text", "PDF", "EPS", "ICO"],
)
def test_other_files_are_unsupported(original: bytes) -> None:
    with pytest.raises(UnsupportedMediaType):
        make_thumbnail(original, 300)


@pytest.mark.parametrize(
    "original",
    [images.photo_jpeg(640, 480), images.photo_png(640, 480), images.photo_webp(640, 480)],
    ids=["JPEG", "PNG", "WebP"],
)
def test_truncated_images_are_corrupt(original: bytes) -> None:
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False

    with pytest.raises(CorruptMedia):
        make_thumbnail(original[: len(original) // 2], 300)
