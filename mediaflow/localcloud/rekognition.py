"""Emulated Amazon Rekognition DetectLabels for the local cloud.

Rekognition has no local equivalent. The emulator keeps what the workflow depends on: the same
input limits and errors as the real service (JPEG or PNG only, at most 15 MB, 80 px a side or
more), `MaxLabels` and `MinConfidence`, and the response shape. Its labels are plainly not
Rekognition's: they name the image's dominant colours, and `LabelModelVersion` says
`EMULATED_MODEL_VERSION`, which `mediaflow run` shows as "emulated".

Colours are named as a person names them, one name per pixel of a 32x32 reduction, and the
names are ranked by the area they cover. A pixel is named from its hue, saturation and value
(HSV), not from its distance in RGB to a palette: RGB distance puts a light grey nearer to a
pale pink than to a mid grey, and grass green nearer to brown than to a saturated green.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

EMULATED_MODEL_VERSION = "mediaflow-local-emulator"
MAX_BYTES = 15 * 1024 * 1024
MIN_SIDE = 80
MAX_SIDE = 10_000

# The eleven basic colour terms of English (Berlin and Kay, 1969), and Teal for blue-greens.
COLOUR_NAMES = (
    "Black", "Gray", "White", "Red", "Orange", "Yellow", "Green", "Teal", "Blue", "Purple",
    "Pink", "Brown",
)  # fmt: skip
# Below this value (the brightest channel, 0..1) no hue can be seen: the pixel is Black.
BLACK_BELOW_VALUE = 0.20
# A pixel with less chroma (max - min channel, 0..1) or HSV saturation than these is seen as
# grey: 0.08 is about 20 of 255, a tint too faint to name (beige paper is white).
ACHROMATIC_CHROMA = 0.08
ACHROMATIC_SATURATION = 0.15
# Greys by lightness ((max + min) / 2): (60, 60, 60) is still black to most eyes, (220, 220,
# 220) is white; (200, 200, 200) between them is Gray.
GRAY_FROM_LIGHTNESS = 0.25
WHITE_FROM_LIGHTNESS = 0.85
# Hue ranges in degrees of HSV hue (red 0, yellow 60, green 120, cyan 180, blue 240, magenta
# 300), each from its lower bound to the next one's; reds wrap round from 345 to 15.
HUE_RANGES = (
    (15.0, "Orange"), (45.0, "Yellow"), (65.0, "Green"), (165.0, "Teal"), (195.0, "Blue"),
    (255.0, "Purple"), (290.0, "Pink"), (345.0, "Red"),
)  # fmt: skip
# Brown is dark orange: orange hues under this value, or dull ones (tan) under the next.
BROWN_BELOW_VALUE = 0.65
DULL_BROWN_SATURATION = 0.5
DULL_BROWN_BELOW_VALUE = 0.85
# Dark dull reds (chestnut, (100, 40, 30)) and dark yellows (olive drab) read as brown too;
# a saturated dark red (maroon, (128, 0, 0)) stays red.
DARK_RED_BROWN_BELOW_VALUE = 0.55
DARK_RED_BROWN_SATURATION = 0.75
DARK_YELLOW_BROWN_BELOW_VALUE = 0.55
# Light reds read as pink; pinks (magenta to rose) that are dark read as purple.
PINK_FROM_LIGHTNESS = 0.65
PINK_FROM_VALUE = 0.70


class RekognitionError(Exception):
    """An error the real service answers with; `code` is its error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def detect_labels(
    data: bytes, max_labels: int = 1000, min_confidence: float = 55.0
) -> dict[str, Any]:
    if len(data) > MAX_BYTES:
        raise RekognitionError(
            "ImageTooLargeException", f"Image size {len(data)} exceeds the 15 MB limit"
        )
    if not (data.startswith(b"\xff\xd8\xff") or data.startswith(b"\x89PNG\r\n\x1a\n")):
        raise RekognitionError(
            "InvalidImageFormatException", "Request has unsupported image format"
        )
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        if min(width, height) < MIN_SIDE or max(width, height) > MAX_SIDE:
            raise RekognitionError(
                "InvalidImageFormatException",
                f"Image dimensions {width}x{height} are outside {MIN_SIDE}..{MAX_SIDE} px",
            )
        image.draft("RGB", (64, 64))
        opaque: Image.Image = image
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            # Transparent areas are the page behind the image, not black.
            rgba = image.convert("RGBA")
            opaque = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
        small = opaque.convert("RGB").resize((32, 32))
    except RekognitionError:
        raise
    except Exception as error:
        raise RekognitionError(
            "InvalidImageFormatException", f"Image cannot be decoded: {error}"
        ) from None
    shares = colour_shares(np.asarray(small, dtype=np.int32).reshape(-1, 3))
    labels = [
        {
            "Name": name,
            # A colour covering a quarter of the image is named with 80 % confidence.
            "Confidence": round(min(99.9, 60.0 + 40.0 * share**0.5), 3),
            "Instances": [],
            "Parents": [],
            "Aliases": [],
            "Categories": [{"Name": "Colors and Visual Composition"}],
        }
        for name, share in shares
    ]
    labels = [label for label in labels if label["Confidence"] >= min_confidence][:max_labels]
    return {"Labels": labels, "LabelModelVersion": EMULATED_MODEL_VERSION}


def colour_shares(pixels: np.ndarray) -> list[tuple[str, float]]:
    """Each colour name's share of `pixels` (N x 3, RGB 0..255), largest first; names no pixel
    has are left out."""
    counts = np.bincount(name_pixels(pixels), minlength=len(COLOUR_NAMES))
    order = np.argsort(-counts, kind="stable")
    return [(COLOUR_NAMES[i], int(counts[i]) / len(pixels)) for i in order if counts[i]]


def name_pixels(pixels: np.ndarray) -> np.ndarray:
    """The index in COLOUR_NAMES of each pixel's name (pixels: N x 3, RGB 0..255)."""
    rgb = np.asarray(pixels, dtype=np.float64).reshape(-1, 3) / 255.0
    red, green, blue = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    value = rgb.max(axis=1)
    low = rgb.min(axis=1)
    chroma = value - low
    saturation = np.divide(chroma, value, out=np.zeros_like(value), where=value > 0)
    lightness = (value + low) / 2
    hue = _hue_degrees(red, green, blue, value, chroma)

    hue_name = np.full(len(rgb), "Red", dtype=object)
    for lower, name in HUE_RANGES:
        hue_name[hue >= lower] = name
    names = hue_name.copy()
    is_red, is_orange = hue_name == "Red", hue_name == "Orange"
    is_yellow, is_pink = hue_name == "Yellow", hue_name == "Pink"
    names[is_red & (lightness >= PINK_FROM_LIGHTNESS)] = "Pink"
    names[
        is_red & (value < DARK_RED_BROWN_BELOW_VALUE) & (saturation < DARK_RED_BROWN_SATURATION)
    ] = "Brown"
    names[
        is_orange
        & (
            (value < BROWN_BELOW_VALUE)
            | ((saturation < DULL_BROWN_SATURATION) & (value < DULL_BROWN_BELOW_VALUE))
        )
    ] = "Brown"
    names[is_yellow & (value < DARK_YELLOW_BROWN_BELOW_VALUE)] = "Brown"
    names[is_pink & (value < PINK_FROM_VALUE)] = "Purple"

    achromatic = (chroma < ACHROMATIC_CHROMA) | (saturation < ACHROMATIC_SATURATION)
    grey = np.where(
        lightness < GRAY_FROM_LIGHTNESS,
        "Black",
        np.where(lightness < WHITE_FROM_LIGHTNESS, "Gray", "White"),
    )
    names = np.where(achromatic, grey, names)
    names[value < BLACK_BELOW_VALUE] = "Black"
    index = {name: i for i, name in enumerate(COLOUR_NAMES)}
    return np.array([index[name] for name in names], dtype=np.intp)


def _hue_degrees(
    red: np.ndarray, green: np.ndarray, blue: np.ndarray, value: np.ndarray, chroma: np.ndarray
) -> np.ndarray:
    """HSV hue, 0 to 360 degrees (0 where there is no chroma: those pixels are greys)."""
    safe = np.where(chroma > 0, chroma, 1.0)
    hue = np.where(
        value == red,
        ((green - blue) / safe) % 6,
        np.where(value == green, (blue - red) / safe + 2, (red - green) / safe + 4),
    )
    return np.where(chroma > 0, hue * 60.0, 0.0)
