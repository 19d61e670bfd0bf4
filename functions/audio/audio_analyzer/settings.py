"""Settings of the audio function, read once from the environment that `template.yaml` sets."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from mediakit.task import output_prefix_setting

_Number = TypeVar("_Number", int, float)

ONE_VCPU_MEMORY_MB = 1769
"""Lambda's CPU share grows with the memory size and reaches one vCPU here."""


@dataclass(frozen=True)
class AudioSettings:
    output_prefix: str = "thumbnails/"
    """Every key the function writes starts with this (OUTPUT_PREFIX)."""
    max_audio_seconds: float = 7200.0
    """Longer recordings are refused as MediaTooLarge (MAX_AUDIO_SECONDS)."""
    silence_threshold_dbfs: float = -60.0
    """A 100 ms window whose loudest channel is below this RMS level is silent
    (SILENCE_THRESHOLD_DBFS)."""
    clipping_threshold: float = 0.999
    """Samples at or beyond this fraction of full scale count as clipped (CLIPPING_THRESHOLD)."""
    block_frames: int = 65536
    """Frames decoded and measured at a time, for up to two channels (more channels get fewer
    frames, so that a block holds as many samples); memory grows with it (BLOCK_FRAMES)."""
    read_ahead: bool = True
    """Decode on a second thread while measuring: only above ONE_VCPU_MEMORY_MB of function
    memory (AWS_LAMBDA_FUNCTION_MEMORY_SIZE). With one vCPU or less, the thread cannot run beside
    the measurements and only adds work (8 % more time on one core)."""

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> AudioSettings:
        """The settings from `environ`; a ValueError names the variable that is wrong."""
        # Set by Lambda; elsewhere (tests, a workstation) unset, and taken as the largest size.
        memory_mb = _number(environ, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", int, 10_240, 128, 10_240)
        settings = cls(
            output_prefix=output_prefix_setting(environ, cls.output_prefix),
            max_audio_seconds=_number(
                environ, "MAX_AUDIO_SECONDS", float, cls.max_audio_seconds, 1.0, 86_400.0
            ),
            silence_threshold_dbfs=_number(
                environ, "SILENCE_THRESHOLD_DBFS", float, cls.silence_threshold_dbfs, -120.0, 0.0
            ),
            clipping_threshold=_number(
                environ, "CLIPPING_THRESHOLD", float, cls.clipping_threshold, 0.5, 1.0
            ),
            block_frames=_number(environ, "BLOCK_FRAMES", int, cls.block_frames, 4096, 1 << 20),
            read_ahead=memory_mb > ONE_VCPU_MEMORY_MB,
        )
        return settings


def _number(
    environ: Mapping[str, str],
    name: str,
    parse: Callable[[str], _Number],
    default: _Number,
    low: _Number,
    high: _Number,
) -> _Number:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    kind = "a whole number" if parse is int else "a number"
    try:
        value = parse(raw)
    except ValueError:
        raise ValueError(f"{name} must be {kind}, got {raw!r}") from None
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name} must be between {low} and {high}, got {raw!r}")
    return value
