"""Deterministic test audio: tones, noise, a field recording, silence, clipping, DC offset.

A `Source` renders any span of frames of an endless signal, the same values however the span is
cut, so short clips for unit tests and hour-long benchmark files come from one definition, and
`write_audio` streams long files block by block instead of building them in memory.

    write_audio(path, sine(997.0, amplitude=0.5), seconds=2.0)          # 16-bit mono WAV
    write_audio(path, field_recording(channels=2), 600.0, subtype="PCM_24")
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf

FloatArray = npt.NDArray[np.float64]

DEFAULT_RATE = 48_000
_NOISE_PAGE = 65_536  # noise is drawn in pages seeded by their number, so any span repeats

# File suffix -> (libsndfile major format, default subtype).
_FORMATS: dict[str, tuple[str, str]] = {
    ".wav": ("WAV", "PCM_16"),
    ".rf64": ("RF64", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
    ".opus": ("OGG", "OPUS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
    ".aiff": ("AIFF", "PCM_16"),
    ".aif": ("AIFF", "PCM_16"),
    ".au": ("AU", "PCM_16"),
}


@dataclass(frozen=True)
class Source:
    """An endless signal: `render(start, count)` gives frames [start, start + count)."""

    sample_rate: int
    channels: int
    render: Callable[[int, int], FloatArray]

    def frames(self, start: int, count: int) -> FloatArray:
        """Frames [start, start + count), shape (count, channels), float64."""
        return self.render(start, count)

    def seconds(self, seconds: float) -> FloatArray:
        """The first `seconds` of the signal, shape (frames, channels)."""
        return self.render(0, round(seconds * self.sample_rate))

    def __add__(self, other: Source) -> Source:
        if (other.sample_rate, other.channels) != (self.sample_rate, self.channels):
            raise ValueError("only sources of one sample rate and channel count can be mixed")
        return Source(
            self.sample_rate,
            self.channels,
            lambda start, count: self.render(start, count) + other.render(start, count),
        )


def _times(start: int, count: int, sample_rate: int) -> FloatArray:
    return np.arange(start, start + count, dtype=np.float64)[:, None] / sample_rate


def _gains(amplitude: float | list[float], channels: int) -> FloatArray:
    """One amplitude for every channel, or one per channel."""
    gains = np.broadcast_to(np.asarray(amplitude, dtype=np.float64), (channels,))
    return np.array(gains)


def sine(
    frequency: float,
    *,
    amplitude: float | list[float] = 1.0,
    sample_rate: int = DEFAULT_RATE,
    channels: int = 1,
    dc_offset: float = 0.0,
) -> Source:
    """A sine (peak `amplitude` of full scale, per channel if a list) plus a constant offset."""
    gains = _gains(amplitude, channels)

    def render(start: int, count: int) -> FloatArray:
        phase = 2.0 * np.pi * frequency * _times(start, count, sample_rate)
        return np.sin(phase) * gains + dc_offset

    return Source(sample_rate, channels, render)


def silence(*, sample_rate: int = DEFAULT_RATE, channels: int = 1) -> Source:
    """Digital silence: every sample exactly zero."""
    return Source(sample_rate, channels, lambda start, count: np.zeros((count, channels)))


def dc(offset: float, *, sample_rate: int = DEFAULT_RATE, channels: int = 1) -> Source:
    """A constant offset from zero, to add to another source."""
    return Source(sample_rate, channels, lambda start, count: np.full((count, channels), offset))


def white_noise(
    *,
    amplitude: float = 0.1,
    sample_rate: int = DEFAULT_RATE,
    channels: int = 1,
    seed: int = 0,
) -> Source:
    """Gaussian white noise with RMS `amplitude`, independent per channel."""

    def render(start: int, count: int) -> FloatArray:
        first, last = start // _NOISE_PAGE, (start + count - 1) // _NOISE_PAGE
        pages = [
            np.random.default_rng((seed, page)).standard_normal((_NOISE_PAGE, channels))
            for page in range(first, last + 1)
        ]
        offset = start - first * _NOISE_PAGE
        return amplitude * np.concatenate(pages)[offset : offset + count]

    return Source(sample_rate, channels, render)


def clipped_square(
    frequency: float,
    *,
    drive: float = 8.0,
    sample_rate: int = DEFAULT_RATE,
    channels: int = 1,
) -> Source:
    """A sine driven `drive` times past full scale and hard-clipped: a near-square wave whose
    samples sit at ±1 for all but a short slope around each zero crossing."""
    tone = sine(frequency, amplitude=drive, sample_rate=sample_rate, channels=channels)
    return Source(
        sample_rate, channels, lambda start, count: np.clip(tone.render(start, count), -1.0, 1.0)
    )


def field_recording(*, sample_rate: int = DEFAULT_RATE, channels: int = 1, seed: int = 0) -> Source:
    """A dawn-chorus-like recording: chirping tones with swelling envelopes, each placed
    somewhere across the channels, over a low bed of noise (-50 dBFS RMS)."""
    rng = np.random.default_rng(seed)
    # Per bird: pitch (Hz), chirps per second, vibrato depth (Hz), peak level, pan position.
    birds = [
        (
            float(rng.uniform(1800, 5200)),
            float(rng.uniform(0.4, 2.5)),
            float(rng.uniform(50, 400)),
            float(rng.uniform(0.05, 0.3)),
            float(rng.uniform(0, 1)),
        )
        for _ in range(4)
    ]
    bed = white_noise(
        amplitude=10 ** (-50 / 20), sample_rate=sample_rate, channels=channels, seed=seed + 1
    )
    positions = np.linspace(0.0, 1.0, channels) if channels > 1 else np.zeros(1)

    def render(start: int, count: int) -> FloatArray:
        t = _times(start, count, sample_rate)
        out = bed.render(start, count)
        for pitch, rate, vibrato, level, pan in birds:
            # Raised-cosine chirps (half of each period sounding), with a 9 Hz warble.
            cycle = (t * rate) % 1.0
            envelope = np.where(cycle < 0.5, np.sin(2.0 * np.pi * cycle) ** 2, 0.0)
            phase = 2.0 * np.pi * pitch * t - vibrato / 9.0 * np.cos(2.0 * np.pi * 9.0 * t)
            spread = np.cos(0.5 * np.pi * np.abs(positions - pan)) if channels > 1 else 1.0
            out = out + level * envelope * np.sin(phase) * spread
        return out

    return Source(sample_rate, channels, render)


def looped(source: Source, seconds: float) -> Source:
    """The first `seconds` of `source`, repeated without end: hour-long files for the cost of
    rendering a short one."""
    loop = source.seconds(seconds)

    def render(start: int, count: int) -> FloatArray:
        return np.take(loop, np.arange(start, start + count) % len(loop), axis=0)

    return Source(source.sample_rate, source.channels, render)


def write_audio(
    path: str | Path,
    source: Source,
    seconds: float,
    *,
    format: str | None = None,
    subtype: str | None = None,
    block_frames: int = 1 << 18,
) -> Path:
    """Write the first `seconds` of `source` to `path`, block by block (memory stays flat).

    Format and subtype follow the suffix (.wav .rf64 .flac .ogg .opus .mp3 .aiff .au) unless
    given; a .wav with more than two channels is written as WAVE_FORMAT_EXTENSIBLE, as
    multichannel recorders do.
    """
    path = Path(path)
    default_format, default_subtype = _FORMATS.get(path.suffix.lower(), ("WAV", "PCM_16"))
    format = format or default_format
    if format == "WAV" and source.channels > 2:
        format = "WAVEX"
    subtype = subtype or default_subtype
    total = round(seconds * source.sample_rate)
    with sf.SoundFile(
        path,
        "w",
        samplerate=source.sample_rate,
        channels=source.channels,
        format=format,
        subtype=subtype,
    ) as out:
        for start in range(0, total, block_frames):
            out.write(source.frames(start, min(block_frames, total - start)))
    return path


def encoded(
    source: Source, seconds: float, *, format: str = "WAV", subtype: str = "PCM_16"
) -> bytes:
    """The first `seconds` of `source` as the bytes of an audio file, for short uploads."""
    buffer = io.BytesIO()
    frames = round(seconds * source.sample_rate)
    sf.write(buffer, source.frames(0, frames), source.sample_rate, format=format, subtype=subtype)
    return buffer.getvalue()


def can_write(format: str, subtype: str) -> bool:
    """Whether this libsndfile build encodes `subtype` in `format` (MP3 and Opus are optional)."""
    return subtype in sf.available_subtypes(format) and sf.check_format(format, subtype)


def sine_rms_dbfs(amplitude: float) -> float:
    """RMS level of a sine with the given peak: 3.01 dB below its peak."""
    return 20.0 * math.log10(amplitude / math.sqrt(2.0))
