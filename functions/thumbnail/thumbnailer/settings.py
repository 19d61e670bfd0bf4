"""Settings of the thumbnail function, read once from the environment that `template.yaml` sets."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from mediakit.task import output_prefix_setting


@dataclass(frozen=True)
class ThumbnailSettings:
    thumbnail_size: int = 300
    """Longest side of a thumbnail, in pixels (THUMBNAIL_SIZE)."""
    label_source_size: int = 2048
    """Longest side of a rendition made for Amazon Rekognition (LABEL_SOURCE_SIZE)."""
    max_image_pixels: int = 40_000_000
    """Images with more pixels are refused as MediaTooLarge (MAX_IMAGE_PIXELS)."""
    output_prefix: str = "thumbnails/"
    """Every key the function writes starts with this (OUTPUT_PREFIX)."""

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> ThumbnailSettings:
        """The settings from `environ`; a ValueError names the variable that is wrong."""
        settings = cls(
            thumbnail_size=_integer(environ, "THUMBNAIL_SIZE", cls.thumbnail_size, 16, 4096),
            label_source_size=_integer(
                environ, "LABEL_SOURCE_SIZE", cls.label_source_size, 80, 10_000
            ),
            max_image_pixels=_integer(
                environ, "MAX_IMAGE_PIXELS", cls.max_image_pixels, 1, 1_000_000_000
            ),
            output_prefix=output_prefix_setting(environ, cls.output_prefix),
        )
        return settings


def _integer(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value
