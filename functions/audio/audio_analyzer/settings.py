"""Settings of the audio function, read once from the environment that `template.yaml` sets.

The defaults here are the analysis's defaults too: `analyze_audio` takes an `AudioSettings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mediakit.settings import Environment
from mediakit.task import DEFAULT_OUTPUT_PREFIX, Prefixes

ONE_VCPU_MEMORY_MB = 1769
"""Lambda's CPU share grows with the memory size and reaches one vCPU here."""


@dataclass(frozen=True)
class AudioSettings:
    output_prefix: str = DEFAULT_OUTPUT_PREFIX
    """Every key the function writes starts with this (OUTPUT_PREFIX, outside UPLOAD_PREFIX)."""
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
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> AudioSettings:
        """The settings from `environ` (default: os.environ); `InvalidSetting` names the
        variable that is wrong."""
        env = Environment(environ)
        # Set by Lambda; elsewhere (tests, a workstation) unset, and taken as the largest size.
        memory_mb = env.integer("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", 10_240, low=128, high=10_240)
        return cls(
            output_prefix=Prefixes.read(env).output,
            max_audio_seconds=env.number(
                "MAX_AUDIO_SECONDS", cls.max_audio_seconds, low=1.0, high=86_400.0
            ),
            silence_threshold_dbfs=env.number(
                "SILENCE_THRESHOLD_DBFS", cls.silence_threshold_dbfs, low=-120.0, high=0.0
            ),
            clipping_threshold=env.number(
                "CLIPPING_THRESHOLD", cls.clipping_threshold, low=0.5, high=1.0
            ),
            block_frames=env.integer("BLOCK_FRAMES", cls.block_frames, low=4096, high=1 << 20),
            read_ahead=memory_mb > ONE_VCPU_MEMORY_MB,
        )
