"""Emulated Amazon Rekognition DetectLabels for the local cloud.

Rekognition has no local equivalent. The emulator keeps what the workflow depends on: the same
input limits and errors as the real service (JPEG or PNG only, at most 15 MB, 80 px a side or
more), `MaxLabels` and `MinConfidence`, and the response shape. Its labels are plainly not
Rekognition's: they name the image's dominant colours, and `LabelModelVersion` says
`EMULATED_MODEL_VERSION`, which `mediaflow run` shows as "emulated".
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

_COLOURS = {
    "Black": (20, 20, 20),
    "White": (240, 240, 240),
    "Gray": (128, 128, 128),
    "Red": (200, 30, 30),
    "Orange": (240, 140, 20),
    "Yellow": (235, 220, 40),
    "Green": (40, 160, 60),
    "Blue": (40, 90, 200),
    "Sky Blue": (120, 180, 235),
    "Purple": (130, 60, 170),
    "Pink": (240, 150, 190),
    "Brown": (120, 80, 40),
}


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
    shares = _colour_shares(np.asarray(small, dtype=np.int32).reshape(-1, 3))
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


def _colour_shares(pixels: np.ndarray) -> list[tuple[str, float]]:
    """Each named colour's share of the pixels nearest to it, largest first."""
    names = list(_COLOURS)
    palette = np.array([_COLOURS[name] for name in names], dtype=np.int32)
    distances = ((pixels[:, None, :] - palette[None, :, :]) ** 2).sum(axis=2)
    counts = np.bincount(distances.argmin(axis=1), minlength=len(names))
    order = np.argsort(-counts, kind="stable")
    return [(names[i], counts[i] / len(pixels)) for i in order if counts[i]]
