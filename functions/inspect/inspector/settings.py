"""Configuration of the Inspect function, read once from the environment and validated.

`template.yaml` sets these variables on `InspectFunction`; the local cloud passes the same.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

from inspector.errors import InvalidSetting

# The second, wider ranged GET never reads more than this. 1 MiB holds the frame header of
# any JPEG a camera writes (APPn segments are at most 64 KiB each) and the `meta` box of any
# HEIF/AVIF that puts it first; beyond that the dimensions are reported as unknown (0).
HEADER_WINDOW_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class InspectSettings:
    max_image_bytes: int
    max_audio_bytes: int
    max_image_pixels: int
    max_audio_seconds: float
    upload_prefix: str = "uploads/"
    output_prefix: str = "thumbnails/"
    # 64 KiB holds the whole header of nearly every upload, so one GET is the usual case.
    head_bytes: int = 65536

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> InspectSettings:
        env = os.environ if environ is None else environ
        upload_prefix = _prefix(env, "UPLOAD_PREFIX", "uploads/")
        output_prefix = _prefix(env, "OUTPUT_PREFIX", "thumbnails/")
        # Outputs written under the watched prefix would trigger the pipeline on its own work.
        if output_prefix.startswith(upload_prefix) or upload_prefix.startswith(output_prefix):
            raise InvalidSetting(
                "OUTPUT_PREFIX",
                f"must not overlap UPLOAD_PREFIX ({output_prefix!r} and {upload_prefix!r})",
            )
        return cls(
            max_image_bytes=_positive_int(env, "MAX_IMAGE_BYTES"),
            max_audio_bytes=_positive_int(env, "MAX_AUDIO_BYTES"),
            max_image_pixels=_positive_int(env, "MAX_IMAGE_PIXELS"),
            max_audio_seconds=_positive_float(env, "MAX_AUDIO_SECONDS"),
            upload_prefix=upload_prefix,
            output_prefix=output_prefix,
            head_bytes=_positive_int(
                env, "HEAD_BYTES", default=65536, low=1024, high=HEADER_WINDOW_LIMIT
            ),
        )


def _raw(env: Mapping[str, str], name: str, default: str | None) -> str:
    value = env.get(name, "").strip()
    if value:
        return value
    if default is None:
        raise InvalidSetting(name, "is not set")
    return default


def _prefix(env: Mapping[str, str], name: str, default: str) -> str:
    value = _raw(env, name, default)
    if not value.endswith("/") or value.startswith("/"):
        raise InvalidSetting(name, f"must be a key prefix like {default!r}, not {value!r}")
    return value


def _positive_int(
    env: Mapping[str, str],
    name: str,
    default: int | None = None,
    low: int = 1,
    high: int | None = None,
) -> int:
    raw = _raw(env, name, None if default is None else str(default))
    try:
        value = int(raw)
    except ValueError:
        raise InvalidSetting(name, f"must be a whole number, not {raw!r}") from None
    if value < low or (high is not None and value > high):
        allowed = f"{low}..{high}" if high is not None else f">= {low}"
        raise InvalidSetting(name, f"must be {allowed}, not {value}")
    return value


def _positive_float(env: Mapping[str, str], name: str) -> float:
    raw = _raw(env, name, None)
    try:
        value = float(raw)
    except ValueError:
        raise InvalidSetting(name, f"must be a number, not {raw!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise InvalidSetting(name, f"must be a positive number, not {raw!r}")
    return value
