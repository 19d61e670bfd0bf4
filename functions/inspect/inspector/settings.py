"""Configuration of the Inspect function, read once from the environment and validated.

`template.yaml` sets these variables on `InspectFunction`; the local cloud passes the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mediakit.settings import Environment
from mediakit.task import DEFAULT_OUTPUT_PREFIX, DEFAULT_UPLOAD_PREFIX, Prefixes

# The second, wider ranged GET never reads more than this. 1 MiB holds the frame header of
# any JPEG a camera writes (APPn segments are at most 64 KiB each) and the `meta` box of any
# HEIF/AVIF that puts it first; beyond that the dimensions are reported as unknown (0).
HEADER_WINDOW_LIMIT = 1024 * 1024
# What AudioFunction (1024 MB, Timeout 300 s) analyses in about half its timeout: the default
# of template.yaml's MaxAudioSamples (see inspector/audio_work.py for the measurements).
DEFAULT_MAX_AUDIO_SAMPLES = 3_000_000_000


@dataclass(frozen=True)
class InspectSettings:
    max_image_bytes: int
    max_audio_bytes: int
    max_image_pixels: int
    max_audio_seconds: float
    max_audio_samples: int = DEFAULT_MAX_AUDIO_SAMPLES
    upload_prefix: str = DEFAULT_UPLOAD_PREFIX
    output_prefix: str = DEFAULT_OUTPUT_PREFIX
    # 64 KiB holds the whole header of nearly every upload, so one GET is the usual case.
    head_bytes: int = 65536

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> InspectSettings:
        """The settings from `environ` (default: os.environ); `InvalidSetting` names the
        variable that is missing or wrong."""
        env = Environment(environ)
        prefixes = Prefixes.read(env)
        return cls(
            max_image_bytes=env.integer("MAX_IMAGE_BYTES"),
            max_audio_bytes=env.integer("MAX_AUDIO_BYTES"),
            max_image_pixels=env.integer("MAX_IMAGE_PIXELS"),
            max_audio_seconds=env.number("MAX_AUDIO_SECONDS"),
            max_audio_samples=env.integer("MAX_AUDIO_SAMPLES", cls.max_audio_samples),
            upload_prefix=prefixes.upload,
            output_prefix=prefixes.output,
            head_bytes=env.integer(
                "HEAD_BYTES", cls.head_bytes, low=1024, high=HEADER_WINDOW_LIMIT
            ),
        )
