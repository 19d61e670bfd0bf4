"""Settings of the thumbnail function, read once from the environment that `template.yaml` sets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mediakit import rekognition_input
from mediakit.settings import Environment
from mediakit.task import DEFAULT_OUTPUT_PREFIX, Prefixes


@dataclass(frozen=True)
class ThumbnailSettings:
    thumbnail_size: int = 300
    """Longest side of a thumbnail, in pixels (THUMBNAIL_SIZE)."""
    label_source_size: int = 2048
    """Longest side of a rendition made for Amazon Rekognition (LABEL_SOURCE_SIZE)."""
    max_image_pixels: int = 40_000_000
    """Images with more pixels are refused as MediaTooLarge (MAX_IMAGE_PIXELS)."""
    output_prefix: str = DEFAULT_OUTPUT_PREFIX
    """Every key the function writes starts with this (OUTPUT_PREFIX, outside UPLOAD_PREFIX)."""

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ThumbnailSettings:
        """The settings from `environ` (default: os.environ); `InvalidSetting` names the
        variable that is wrong."""
        env = Environment(environ)
        return cls(
            thumbnail_size=env.integer("THUMBNAIL_SIZE", cls.thumbnail_size, low=16, high=4096),
            label_source_size=env.integer(
                "LABEL_SOURCE_SIZE",
                cls.label_source_size,
                low=rekognition_input.MIN_SIDE,
                high=rekognition_input.MAX_SIDE,
            ),
            max_image_pixels=env.integer(
                "MAX_IMAGE_PIXELS", cls.max_image_pixels, low=1, high=1_000_000_000
            ),
            output_prefix=Prefixes.read(env).output,
        )
