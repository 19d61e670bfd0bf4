"""Audio measurements in one streaming pass: a file in, an `AudioAnalysis` out (no AWS).

libsndfile (`decoding`), or FFmpeg for the phone and recorder containers (`ffmpeg_decoding`),
decodes the file block by block into preallocated float32 buffers and every measurement is
folded in per block, the same code whichever decoder, so memory stays flat in the length:

- peak, RMS and DC offset over all samples; clipping ratio: the share of samples at or beyond the
  clipping threshold (capped at the format's largest positive code, so that 8-bit audio can clip);
- silence ratio: the share of the duration in 100 ms windows whose loudest channel has an RMS
  level below the silence threshold;
- spectral centroid: the centroid of the power spectrum summed over one 2048-frame Hann window
  of the channels' mix at the start of each block, DC removed: where the energy lies, not
  pulled up by a low noise floor as a magnitude-weighted centroid is. It is a coarse
  descriptor, and an FFT of every sample would cost more than the decoding;
- integrated loudness per ITU-R BS.1770-4: K-weighting (computed exactly, see `KWeighting`),
  400 ms blocks every 100 ms (the hop rounded to whole frames as libebur128 does), the absolute
  (-70 LUFS) and relative (-10 LU) gates, and the channel weights of its table (channels 4 and 5
  of 5.0, and the surrounds and excluded LFE of 5.1 in WAV order); null for recordings shorter
  than one 400 ms block, sample rates below 8 kHz, or when every block is below the absolute gate;
- the waveform: the smallest and largest sample of each of `waveform_columns` time slices.

The BS.1770 filter and gates are in `loudness`; the defaults are `AudioSettings`'s.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from mediakit.audio_containers import ffmpeg_container

from audio_analyzer.decoding import FloatArray, Source, libsndfile_audio, read_head
from audio_analyzer.errors import CorruptMedia, MediaTooLarge
from audio_analyzer.loudness import (
    HOPS_PER_GATING_BLOCK,
    MIN_LOUDNESS_SAMPLE_RATE,
    KWeighting,
    LoudnessGate,
    bs1770_channel_gains,
    hop_frames,
    k_weighting_chunk,
)
from audio_analyzer.settings import AudioSettings
from audio_analyzer.waveform import WIDTH as WAVEFORM_WIDTH

FLOOR_DBFS = -120.0
DEFAULTS = AudioSettings()
_CENTROID_FRAMES = 2048


@dataclass(frozen=True, eq=False)
class AudioAnalysis:
    duration_seconds: float
    sample_rate: int
    channels: int
    format: str
    subtype: str
    peak_dbfs: float
    rms_dbfs: float
    dc_offset: float
    clipping_ratio: float
    silence_ratio: float
    spectral_centroid_hz: float
    loudness_lufs: float | None
    # Per waveform column, over all channels; NaN where a column got no samples.
    waveform_min: FloatArray = field(repr=False)
    waveform_max: FloatArray = field(repr=False)


def analyze_audio(
    source: Source,
    settings: AudioSettings = DEFAULTS,
    *,
    waveform_columns: int = WAVEFORM_WIDTH,
) -> AudioAnalysis:
    """Measure a recording (a path, or a seekable binary file) in one pass over blocks of
    `settings.block_frames` frames (fewer for more than two channels); one waveform column per
    pixel of the waveform picture.

    The decoder is chosen by the file's first bytes, not by what the event says: FFmpeg for the
    phone and recorder containers (`mediakit.audio_containers.ffmpeg_container`), libsndfile
    for every other format. With `settings.read_ahead`, a second thread decodes libsndfile's
    next blocks while this one is measured; without it, blocks are decoded a few at a time,
    then measured. Raises `UnsupportedMediaType`, `MediaTooLarge` (longer than
    `settings.max_audio_seconds`, too many channels) or `CorruptMedia`.
    """
    max_seconds = settings.max_audio_seconds
    container = ffmpeg_container(read_head(source))
    if container is None:
        opened = libsndfile_audio(source, max_seconds, settings.read_ahead)
    else:
        # Loads FFmpeg, which costs a cold start about 0.15 s, only for a file that needs it.
        from audio_analyzer.ffmpeg_decoding import ffmpeg_audio

        opened = ffmpeg_audio(source, container, max_seconds)
    with opened as audio:
        clipping_threshold = settings.clipping_threshold
        if audio.bits is not None:
            # The largest positive code of n-bit PCM is 1 - 2**(1 - n): count it as clipped.
            clipping_threshold = min(clipping_threshold, 1.0 - 2.0 ** (1 - audio.bits))
        hop = hop_frames(audio.sample_rate)
        # Blocks of more than two channels get fewer frames, so that their memory stays that
        # of a stereo block; a block holds at least one hop.
        frames = max(hop, settings.block_frames * 2 // max(2, audio.channels))
        measure = _Measurements(
            audio.sample_rate,
            audio.channels,
            block_frames=frames + hop,
            header_frames=audio.frames,
            silence_threshold_dbfs=settings.silence_threshold_dbfs,
            clipping_threshold=clipping_threshold,
            waveform_columns=waveform_columns,
        )
        max_frames = math.floor(max_seconds * audio.sample_rate)
        # Closed before the file, so that no read is still running when the file closes.
        with contextlib.closing(audio.blocks(frames, hop)) as blocks:
            for block in blocks:
                if measure.frames + block.shape[1] > max_frames:
                    raise MediaTooLarge(f"audio runs past the limit of {max_seconds:g} s")
                measure.add(block)
        return measure.result(audio.format, audio.subtype)


def dbfs(amplitude: float) -> float:
    """20·log10 of an amplitude relative to full scale, floored at FLOOR_DBFS (JSON has no -inf)."""
    if amplitude <= 10.0 ** (FLOOR_DBFS / 20.0):
        return FLOOR_DBFS
    return 20.0 * math.log10(amplitude)


def column_starts(
    start: int, stop: int, frames: int, columns: int
) -> tuple[int, npt.NDArray[np.intp]]:
    """Where frames [start, stop) cross into the next of `columns` equal slices of `frames`
    frames; frames past `frames` (a header that undercounts) belong to the last column.

    Returns the column of frame `start`, and the offsets from `start` at which it and each
    following column begin, as `ufunc.reduceat` takes them.
    """
    first = min(((start + 1) * columns - 1) // frames, columns - 1)
    last = min((stop * columns - 1) // frames, columns - 1)
    # Plain ints: a block spans few columns, and numpy's per-call cost would dominate.
    offsets = [0] + [j * frames // columns - start for j in range(first + 1, last + 1)]
    return first, np.array(offsets, dtype=np.intp)


class _Measurements:
    """Everything measured so far, folded in one (channels, frames) float32 block at a time."""

    def __init__(
        self,
        sample_rate: int,
        channels: int,
        *,
        block_frames: int,
        header_frames: int,
        silence_threshold_dbfs: float,
        clipping_threshold: float,
        waveform_columns: int,
    ) -> None:
        self.frames = 0
        self._rate = sample_rate
        self._channels = channels
        self._clip = clipping_threshold
        self._clipped = 0
        self._sums = np.zeros(channels)
        self._ones = np.ones(block_frames, dtype=np.float32)  # block @ ones: a fast row sum
        # The header's frame count lays out the waveform; frames past it land in the last column.
        self._waveform_frames = max(1, header_frames)
        columns = max(1, min(waveform_columns, header_frames))
        self._waveform_min = np.full((channels, columns), np.inf, dtype=np.float32)
        self._waveform_max = np.full((channels, columns), -np.inf, dtype=np.float32)
        self._hop = hop_frames(sample_rate)
        self._k_weighting = (
            KWeighting(sample_rate, channels, block_frames, chunk=k_weighting_chunk(self._hop))
            if sample_rate >= MIN_LOUDNESS_SAMPLE_RATE
            else None
        )
        self._hops = _HopLevels(self._hop, channels, silence_threshold_dbfs)
        self._centroid_weighted = 0.0
        self._centroid_power = 0.0
        self._spectrum_frames: list[FloatArray] = []

    def add(self, block: FloatArray) -> None:
        """Fold in the next `block`: shape (channels, frames), contiguous rows, whole hops."""
        frames = block.shape[1]
        start, stop = self.frames, self.frames + frames
        first, offsets = column_starts(
            start, stop, self._waveform_frames, self._waveform_max.shape[1]
        )
        low = np.minimum.reduceat(block, offsets, axis=1)
        high = np.maximum.reduceat(block, offsets, axis=1)
        span = slice(first, first + len(offsets))
        np.minimum(self._waveform_min[:, span], low, out=self._waveform_min[:, span])
        np.maximum(self._waveform_max[:, span], high, out=self._waveform_max[:, span])
        # Most blocks never come near full scale: count only where the extremes say it can pay.
        if high.max() >= self._clip or low.min() <= -self._clip:
            self._clipped += int(np.count_nonzero(block >= self._clip))
            self._clipped += int(np.count_nonzero(block <= -self._clip))
        self._sums += block @ self._ones[:frames]
        energy = self._hop_energies(block)
        if self._k_weighting is None:
            k_energy = np.zeros(energy.shape[1])
        else:
            k_energy = self._hops.gains @ self._hop_energies(self._k_weighting(block))
        self._hops.add(energy, k_energy, frames)
        # One FFT frame of the channels' mix per block, transformed in batches of 32 (an FFT call
        # costs more than its 2048 points); a clip shorter than a frame gets one of its length.
        if frames >= _CENTROID_FRAMES or start == 0:
            self._spectrum_frames.append(block[:, :_CENTROID_FRAMES].sum(axis=0))
            if len(self._spectrum_frames) == 32 or frames < _CENTROID_FRAMES:
                self._add_spectra()
        self.frames = stop

    def _hop_energies(self, signal: FloatArray) -> npt.NDArray[np.float64]:
        """Sums of squares per channel and hop, shape (channels, hops); a block starts at a hop,
        and only the file's last block can end inside one."""
        channels, frames = signal.shape
        hops, tail = divmod(frames, self._hop)
        whole = signal[:, : hops * self._hop].reshape(channels, hops, self._hop)
        energy = np.vecdot(whole, whole)  # a dot product per hop: half the time of einsum's loop
        if tail:
            rest = signal[:, hops * self._hop :]
            energy = np.column_stack([energy, np.vecdot(rest, rest)])
        return energy.astype(np.float64)

    def _add_spectra(self) -> None:
        """Fold the collected mix frames into the power-weighted centroid sums."""
        frames = np.stack(self._spectrum_frames)
        self._spectrum_frames.clear()
        size = frames.shape[1]
        # DC is reported on its own; left in, it would pull the centroid towards 0 Hz.
        frames -= frames.mean(axis=1, keepdims=True)
        power = np.abs(np.fft.rfft(frames * np.hanning(size).astype(np.float32), axis=1)) ** 2
        self._centroid_weighted += float(power.sum(axis=0) @ np.fft.rfftfreq(size, 1 / self._rate))
        self._centroid_power += float(power.sum())

    def result(self, major_format: str, subtype: str) -> AudioAnalysis:
        if self.frames == 0:
            raise CorruptMedia("the file holds no audio frames")
        samples = self.frames * self._channels
        squares, silent_frames, loudness = self._hops.finish()
        if self._k_weighting is None:
            loudness = None
        if self._spectrum_frames:
            self._add_spectra()
        means = self._sums / self.frames
        waveform_min = self._waveform_min.min(axis=0)
        waveform_max = self._waveform_max.max(axis=0)
        empty = np.isinf(waveform_max)
        waveform_min[empty] = waveform_max[empty] = np.nan
        peak = max(float(np.nanmax(waveform_max)), -float(np.nanmin(waveform_min)))
        return AudioAnalysis(
            duration_seconds=self.frames / self._rate,
            sample_rate=self._rate,
            channels=self._channels,
            format=major_format,
            subtype=subtype,
            peak_dbfs=dbfs(peak),
            rms_dbfs=dbfs(math.sqrt(squares / samples)),
            # One number for the file: the channel whose mean is furthest from zero, signed.
            dc_offset=float(means[np.argmax(np.abs(means))]),
            clipping_ratio=self._clipped / samples,
            silence_ratio=silent_frames / self.frames,
            spectral_centroid_hz=(
                self._centroid_weighted / self._centroid_power
                if self._centroid_power > 0.0
                else 0.0
            ),
            loudness_lufs=loudness,
            waveform_min=waveform_min,
            waveform_max=waveform_max,
        )


class _HopLevels:
    """RMS, silence and gated loudness from the energies of consecutive 100 ms hops.

    Blocks' hops are summarised in batches of about 100 s: numpy's per-call cost would
    otherwise outweigh these small sums. Memory stays flat.
    """

    _BATCH_HOPS = 1024

    def __init__(self, hop: int, channels: int, silence_threshold_dbfs: float) -> None:
        self._hop = hop
        self._silence = 10.0 ** (silence_threshold_dbfs / 10.0)  # a mean square
        self.gains = bs1770_channel_gains(channels)
        self._energy: list[npt.NDArray[np.float64]] = []
        self._k_energy: list[npt.NDArray[np.float64]] = []
        self._pending = 0
        self._last_hop = hop  # frames in the file's last hop, once it is known
        self._squares = 0.0
        self._silent_frames = 0
        self._gate = LoudnessGate()
        # K-weighted energies of the last whole hops, which start the next 400 ms blocks.
        self._recent = np.zeros(0)

    def add(
        self, energy: npt.NDArray[np.float64], k_energy: npt.NDArray[np.float64], frames: int
    ) -> None:
        """Energies per channel (channels, hops) and channel-weighted K-weighted energies (hops,)
        of the next `frames` frames: whole hops, but for a partial one at the file's end."""
        self._energy.append(energy)
        self._k_energy.append(k_energy)
        self._pending += len(k_energy)
        if frames % self._hop:
            self._last_hop = frames % self._hop
        if self._pending >= self._BATCH_HOPS:
            self._summarise()

    def finish(self) -> tuple[float, int, float | None]:
        """Sum of squares, silent frames and integrated loudness (LUFS) of the whole file."""
        self._summarise()
        return self._squares, self._silent_frames, self._gate.integrated()

    def _summarise(self) -> None:
        if not self._pending:
            return
        energy = np.concatenate(self._energy, axis=1)
        k_energy = np.concatenate(self._k_energy)
        self._energy.clear()
        self._k_energy.clear()
        self._pending = 0
        lengths = np.full(len(k_energy), self._hop)
        lengths[-1] = self._last_hop
        self._squares += float(energy.sum())
        loudest = (energy / lengths).max(axis=0)
        self._silent_frames += int(lengths[loudest < self._silence].sum())
        # 400 ms blocks of four whole hops; a partial last hop is left out.
        whole = k_energy if self._last_hop == self._hop else k_energy[:-1]
        recent = np.concatenate([self._recent, whole])
        if len(recent) >= HOPS_PER_GATING_BLOCK:
            window = np.ones(HOPS_PER_GATING_BLOCK)
            self._gate.add(np.convolve(recent, window, "valid") / (len(window) * self._hop))
        self._recent = recent[1 - HOPS_PER_GATING_BLOCK :]
