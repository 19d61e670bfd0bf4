"""Hostile uploads through the functions themselves (mediaflow/corpora/hostile.py).

Each file is inspected as the Inspect function reads it (HEAD, then ranged GETs), and whatever
inspection lets through goes to the thumbnail or audio code, as the workflow would send it.
Each must be refused by the step the corpus names, with its reason, and by nothing but a
rejected verdict or one of the three media errors the state machine catches.

Work is bounded structurally, not by timing: inspection never reads past its window, and
images are refused before any pixel is decoded, except where only decoding can tell
(truncated pixel data). A generous wall-clock guard only turns a hang into a clear failure
(pytest-timeout is not installed), and peak memory is measured in a child process.
"""

from __future__ import annotations

import json
import struct
import threading
import zlib
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from inspector.settings import HEADER_WINDOW_LIMIT
from inspector.sniffing import FORMATS, describe, sniff
from PIL import Image
from thumbnailer import errors as thumbnail_errors
from thumbnailer import thumbnails
from thumbnailer.thumbnails import MAX_ANIMATION_FRAMES, make_thumbnail

from mediaflow.corpora import images
from mediaflow.corpora.containers import deflated_zeros, png_chunk
from mediaflow.corpora.hostile import (
    KEY_STYLES,
    S3_MAX_KEY_BYTES,
    HostileFile,
    awkward_key,
    hostile_files,
)
from tests.conftest import ROOT, run_python
from tests.unit.hostile_refusal import (
    BY_NAME,
    CASES,
    FOUND_BY_DECODING,
    HANG_GUARD_SECONDS,
    MEDIA_ERRORS,
    MEMORY_GROWTH_LIMIT_MIB,
    SETTINGS,
    refuse,
)

if TYPE_CHECKING:
    pass

T = TypeVar("T")


def within(seconds: float, work: Callable[[], T]) -> T:
    """`work()`, or a clear failure if it has not finished after `seconds` (it then runs on in
    a daemon thread, which cannot be stopped, until the test process ends)."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as error:  # handed to the test's thread below
            failure.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        pytest.fail(f"still running after {seconds:.0f} s: a hang or an unbounded loop")
    if failure:
        raise failure[0]
    return outcome[0]


@pytest.fixture
def pixel_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pillow's pixel limit as ThumbnailFunction's handler sets it (its MAX_IMAGE_PIXELS)."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", SETTINGS.max_image_pixels)


# --- the corpus ------------------------------------------------------------------------------


def test_the_corpus_holds_every_required_kind_of_hostile_file_and_stays_small() -> None:
    # Every required kind of hostile file, and more: at least 30, names unique
    names = [case.name for case in CASES]
    assert len(CASES) >= 30
    assert len(set(names)) == len(names)
    required = {
        "empty.jpg", "cut-in-header.jpg", "cut-in-scan.jpg", "cut-in-ihdr.png",
        "cut-in-idat.png", "cut-in-fmt.wav", "cut-in-streaminfo.flac", "cut-in-frames.flac",
        "invoice.jpg", "jpeg-zip.jpg", "gifar.gif", "gif-js.gif", "bomb.png",
        "65535x65535.jpg", "5000-frames.gif", "0-channels.wav", "0-hz.wav",
        "2-to-the-31-frames.wav", "huge-exif.png", "malformed-icc.jpg",
    }  # fmt: skip
    assert required <= set(names)
    assert {case.rejected_by for case in CASES} == {"inspect", "thumbnail", "audio"}
    # Bombs are small files: what they promise is never built
    assert max(len(case.content) for case in CASES) < 2 * 1024 * 1024
    # The same corpus every time
    assert [(c.name, c.content) for c in hostile_files()] == [(c.name, c.content) for c in CASES]


def test_deflated_zeros_inflate_to_exactly_that_many_zeros() -> None:
    for size in (0, 1, (1 << 20) - 1, 1 << 20, 3 * (1 << 20) + 5):
        assert zlib_inflate(deflated_zeros(size)) == bytes(size)
    # A gibibyte in about a megabyte: the compression ratio of a real zip bomb
    assert len(deflated_zeros(1 << 30)) < (1 << 30) // 1000


def zlib_inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    out = inflater.decompress(data)
    assert inflater.eof and not inflater.unused_data
    return out


def test_awkward_keys_cover_every_style_within_s3s_limit() -> None:
    keys = [awkward_key(index, "photo.jpg") for index in range(len(KEY_STYLES))]

    assert len(set(keys)) == len(KEY_STYLES)
    assert all(key.startswith("uploads/hostile-device/") for key in keys)
    assert all(key.endswith("photo.jpg") for key in keys)
    assert max(len(key.encode()) for key in keys) == S3_MAX_KEY_BYTES
    joined = "".join(keys)
    for needle in (" ", "+", "%", "\u202e", "\u0301", "📷", "ת"):
        assert needle in joined


# --- each file, through the functions ---------------------------------------------------------


@pytest.mark.usefixtures("pixel_limit")
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_file_is_refused_by_its_step_with_its_reason(
    case: HostileFile, tmp_path: Path
) -> None:
    outcome = within(HANG_GUARD_SECONDS, lambda: refuse(case, tmp_path))

    assert outcome.stage == case.rejected_by, outcome.reason or "every step accepted it"
    assert case.expected_reason_fragment in outcome.reason
    if outcome.stage != "inspect":
        assert outcome.error in MEDIA_ERRORS
    # Inspection reads a bounded window of any file, however its header lies
    assert outcome.inspected_bytes <= HEADER_WINDOW_LIMIT + max(f.tail_bytes for f in FORMATS)


@pytest.mark.usefixtures("pixel_limit")
def test_images_are_refused_before_any_pixel_is_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a spy on the one place where Pillow creates a pixel decoder (JPEG, PNG, GIF)
    decoders: list[str] = []
    get_decoder = Image._getdecoder

    def spy(mode: str, decoder_name: str, *args: Any, **kwargs: Any) -> Any:
        decoders.append(decoder_name)
        return get_decoder(mode, decoder_name, *args, **kwargs)

    monkeypatch.setattr(Image, "_getdecoder", spy)
    refused_by_structure = [
        case
        for case in CASES
        if case.rejected_by == "thumbnail" and case.name not in FOUND_BY_DECODING
    ]
    assert len(refused_by_structure) >= 10

    for case in refused_by_structure:
        # When the thumbnail function meets the file
        with pytest.raises(thumbnail_errors.MediaError):
            make_thumbnail(BytesIO(case.content))
        # Then it refused it from the container alone
        assert decoders == [], case.name

    # (And the spy does see decoding, where only decoding can tell)
    with pytest.raises(thumbnail_errors.CorruptMedia):
        make_thumbnail(BytesIO(BY_NAME["cut-in-scan.jpg"].content))
    assert decoders == ["jpeg"]


@pytest.mark.usefixtures("pixel_limit")
def test_animation_limit_is_the_boundary() -> None:
    # An animation of exactly the limit is a thumbnail; one frame more is refused
    from mediaflow.corpora.containers import gif_animation

    rendition = make_thumbnail(gif_animation(MAX_ANIMATION_FRAMES))
    assert (rendition.original_width, rendition.original_height) == (1, 1)
    with pytest.raises(thumbnail_errors.MediaTooLarge, match="more than 1000 frames"):
        make_thumbnail(gif_animation(MAX_ANIMATION_FRAMES + 1))


@pytest.mark.usefixtures("pixel_limit")
def test_webp_animations_count_against_the_same_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(thumbnails, "MAX_ANIMATION_FRAMES", 2)
    frames = [images.photo(32, 24, seed=seed) for seed in range(3)]

    def webp(count: int) -> bytes:
        return images.encode(frames[0], "WEBP", save_all=True, append_images=frames[1:count])

    assert make_thumbnail(webp(2)).original_width == 32
    with pytest.raises(
        thumbnail_errors.MediaTooLarge, match="WebP animation has 3 frames; at most 2"
    ):
        make_thumbnail(webp(3))


def test_the_new_header_checks_leave_honest_files_alone() -> None:
    # A multi-page TIFF: a chain of IFDs that ends
    pages = [Image.new("L", (16, 8), shade) for shade in (0, 128, 255)]
    tiff = images.encode(pages[0], "TIFF", save_all=True, append_images=pages[1:])
    assert (sniff(tiff).width, sniff(tiff).height) == (16, 8)
    # Byte order marks name the text that follows them, and only text
    assert describe(b"\xef\xbb\xbf<svg/>") == "XML/SVG document in UTF-8, with a byte order mark"
    assert describe("<html>".encode("utf-16")).startswith("HTML document in UTF-16")
    assert describe(b"\xff\xfe" + bytes(64)) == "MPEG audio layer 1"


@pytest.mark.usefixtures("pixel_limit")
def test_media_that_devices_send_still_passes_the_new_checks(tmp_path: Path) -> None:
    # JPEG and PNG with EXIF and an ICC profile, an animated GIF, a multi-frame APNG: none of
    # them is mistaken for a polyglot, a bomb or an animation too long
    originals = {
        "wide-gamut.jpg": images.photo_jpeg(320, 240, icc_profile=images.adobe_rgb_profile()),
        "exif.png": images.encode(images.photo(320, 240), "PNG", exif=images.camera_exif()),
        "sixteen-bit.png": images.png16(97, 61, colour=True),
        "animated.gif": images.animated_gif(),
        "animated.png": images.encode(
            images.photo(64, 48), "PNG", save_all=True, append_images=[images.photo(64, 48, seed=1)]
        ),
        "palette.png": images.palette_png(),
    }
    for name, original in originals.items():
        assert make_thumbnail(original).jpeg, name


@pytest.mark.parametrize("interlaced", [False, True], ids=["progressive rows", "Adam7"])
@pytest.mark.parametrize(
    ("depth", "colour"), [(1, 0), (8, 2), (16, 6)], ids=["1-bit", "RGB", "RGBA64"]
)
def test_uncompressed_png_data_is_not_mistaken_for_a_zip_bomb(
    interlaced: bool, depth: int, colour: int
) -> None:
    # The most compressed data a PNG can honestly hold: its scanlines stored, not deflated
    width, height = 37, 23
    channels = {0: 1, 2: 3, 6: 4}[colour]
    passes = ADAM7 if interlaced else [(0, 0, 1, 1)]
    raw = b""
    for x0, y0, dx, dy in passes:
        columns, rows = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if columns > 0 and rows > 0:
            raw += (b"\0" + bytes(-(-columns * channels * depth // 8))) * rows
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, int(interlaced))
    original = (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(raw, 0))
        + png_chunk(b"IEND", b"")
    )

    rendition = make_thumbnail(original)

    assert (rendition.original_width, rendition.original_height) == (width, height)


# Adam7's passes: first column and row, then the steps between them.
ADAM7 = [
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
]


# --- memory -----------------------------------------------------------------------------------


def test_the_whole_corpus_is_refused_in_bounded_memory() -> None:
    # Peak resident memory (ru_maxrss) counts what Pillow, zlib and libsndfile allocate in C,
    # which tracemalloc does not see; so it is measured in a fresh process, where nothing
    # else has raised the peak, against a baseline taken after one good photo and one good
    # recording have gone through the same code.
    script = (
        "import tests.conftest\n"
        "from tests.unit.hostile_refusal import report_peak_memory\n"
        "report_peak_memory()\n"
    )
    done = run_python(script, cwd=ROOT, pythonpath=str(ROOT))
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])

    growth_mib = (report["peak_kib"] - report["baseline_kib"]) / 1024
    assert growth_mib < MEMORY_GROWTH_LIMIT_MIB, report["raised_peak_kib"]
    assert report["refused"] == len(CASES)
