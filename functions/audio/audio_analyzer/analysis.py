"""Audio measurements in one streaming pass: a file in, an `AudioAnalysis` out (no AWS).

libsndfile decodes the file block by block into preallocated float32 buffers and every
measurement is folded in per block, so memory stays flat in the file's length:

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
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
from collections import deque
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import soundfile as sf

from audio_analyzer.errors import CorruptMedia, MediaTooLarge, UnsupportedMediaType

FloatArray = npt.NDArray[np.float32]

FLOOR_DBFS = -120.0
MAX_CHANNELS = 64
MIN_SAMPLE_RATE = 1_000
MAX_SAMPLE_RATE = 768_000
MIN_LOUDNESS_SAMPLE_RATE = 8_000

_HOPS_PER_GATING_BLOCK = 4  # BS.1770: 400 ms blocks every 100 ms
_DECODE_AHEAD = 8  # blocks decoded ahead of the measurements (by a worker, or in batches)
_CENTROID_FRAMES = 2048
_SF_ERR_UNRECOGNISED_FORMAT = 1
_SF_ERR_UNSUPPORTED_ENCODING = 4
_PCM_BITS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32}


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
    source: str | os.PathLike[str] | BinaryIO,
    *,
    max_seconds: float = 7200.0,
    silence_threshold_dbfs: float = -60.0,
    clipping_threshold: float = 0.999,
    block_frames: int = 65536,
    waveform_columns: int = 1200,
    read_ahead: bool = True,
) -> AudioAnalysis:
    """Measure a recording (a path, or a seekable binary file) in one pass over blocks of
    `block_frames` frames (fewer for more than two channels).

    With `read_ahead`, a second thread decodes the next blocks while this one is measured;
    without it, blocks are decoded a few at a time, then measured.
    Raises `UnsupportedMediaType`, `MediaTooLarge` (longer than `max_seconds`, too many channels)
    or `CorruptMedia`.
    """
    try:
        with sf.SoundFile(source) as sound:
            _check_header(sound, max_seconds)
            bits = _PCM_BITS.get(sound.subtype)
            if bits is not None:
                # The largest positive code of n-bit PCM is 1 - 2**(1 - n): count it as clipped.
                clipping_threshold = min(clipping_threshold, 1.0 - 2.0 ** (1 - bits))
            hop = hop_frames(sound.samplerate)
            # Blocks of more than two channels get fewer frames, so that their memory stays that
            # of a stereo block; a block holds at least one hop.
            frames = max(hop, block_frames * 2 // max(2, sound.channels))
            measure = _Measurements(
                sound.samplerate,
                sound.channels,
                block_frames=frames + hop,
                header_frames=sound.frames,
                silence_threshold_dbfs=silence_threshold_dbfs,
                clipping_threshold=clipping_threshold,
                waveform_columns=waveform_columns,
            )
            max_frames = math.floor(max_seconds * sound.samplerate)
            # Closed before `sound`, so that no read is still running when the file closes.
            with contextlib.closing(_hop_blocks(sound, frames, hop, read_ahead)) as blocks:
                for block in blocks:
                    if measure.frames + block.shape[1] > max_frames:
                        raise MediaTooLarge(f"audio runs past the limit of {max_seconds:g} s")
                    measure.add(block)
            return measure.result(sound.format, sound.subtype)
    except sf.LibsndfileError as error:
        raise _media_error(error) from error
    except sf.SoundFileRuntimeError as error:
        raise CorruptMedia(f"cannot decode the audio: {error}") from error


def _hop_blocks(
    sound: sf.SoundFile, frames: int, hop: int, read_ahead: bool
) -> Generator[FloatArray, None, None]:
    """The decoded audio as float32 blocks of whole hops, channel-major (channels, frames) with
    contiguous rows, so that every measurement is a vectorised reduction along rows.

    libsndfile reads `frames` frames at a time (FLAC decodes fastest in multiples of its 4096-
    frame blocks); what is left over after the last whole hop starts the next block. Only the
    file's last block may end inside a hop. Each block is valid until the next is requested.

    With `read_ahead`, a worker thread decodes up to `_DECODE_AHEAD` blocks ahead of the caller
    (libsndfile and numpy release the GIL), so on two cores decoding and measuring overlap; a
    queue of several blocks keeps either side busy while the other waits for a core. Without it,
    blocks are decoded `_DECODE_AHEAD` at a time, then handed out one after another: decoding
    and measuring in turns block by block evicts each other's code and tables from the CPU
    caches, and the measurements then take a quarter more time.
    """
    interleaved = np.empty((frames, sound.channels), dtype=np.float32)
    planar = [
        np.empty((sound.channels, frames + hop), dtype=np.float32) for _ in range(_DECODE_AHEAD + 1)
    ]
    # Block n lives in planar[n % len(planar)], never one that the caller holds or that is in
    # flight; the frames carried over lie beyond the part handed out, which nobody reads.
    carried = planar[-1][:, :0]

    def decode(turn: int) -> FloatArray:
        nonlocal carried
        buffer = planar[turn % len(planar)]
        kept = carried.shape[1]
        buffer[:, :kept] = carried
        # Copied out at once: libsndfile zeroes `interleaved` on the read after the last.
        count = len(sound.read(frames, dtype="float32", out=interleaved))
        np.copyto(buffer[:, kept : kept + count], interleaved[:count].T)
        total = kept + count
        whole = total if count < frames else total - total % hop  # short only at the end
        carried = buffer[:, whole:total]
        return buffer[:, :whole]

    if read_ahead:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="audio-decode") as decoder:
            pending = deque(decoder.submit(decode, turn) for turn in range(_DECODE_AHEAD))
            try:
                for turn in itertools.count(_DECODE_AHEAD):
                    block = pending.popleft().result()
                    if not block.shape[1]:
                        return
                    pending.append(decoder.submit(decode, turn))
                    yield block
            finally:
                for future in pending:
                    future.cancel()
    else:
        for first in itertools.count(0, _DECODE_AHEAD):
            for block in [decode(turn) for turn in range(first, first + _DECODE_AHEAD)]:
                if not block.shape[1]:
                    return
                yield block


def _check_header(sound: sf.SoundFile, max_seconds: float) -> None:
    if sound.channels < 1:
        raise CorruptMedia(f"the header declares {sound.channels} channels")
    if sound.channels > MAX_CHANNELS:
        raise MediaTooLarge(f"{sound.channels} channels; at most {MAX_CHANNELS} are supported")
    if sound.samplerate < 1:
        raise CorruptMedia(f"the header declares a sample rate of {sound.samplerate} Hz")
    if not MIN_SAMPLE_RATE <= sound.samplerate <= MAX_SAMPLE_RATE:
        raise UnsupportedMediaType(
            f"sample rate {sound.samplerate} Hz is outside {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz"
        )
    if sound.frames / sound.samplerate > max_seconds:
        raise MediaTooLarge(
            f"the header declares {sound.frames / sound.samplerate:.0f} s of audio; "
            f"the limit is {max_seconds:g} s"
        )


def _media_error(error: sf.LibsndfileError) -> Exception:
    message = error.error_string
    # Only codes 1..4 are libsndfile's public API; its wording tells the other unsupported cases.
    unsupported = error.code in (_SF_ERR_UNRECOGNISED_FORMAT, _SF_ERR_UNSUPPORTED_ENCODING) or any(
        word in message.lower() for word in ("unimplemented", "not supported")
    )
    if unsupported:
        return UnsupportedMediaType(f"not audio that libsndfile can decode: {message}")
    return CorruptMedia(f"cannot decode the audio: {message}")


def dbfs(amplitude: float) -> float:
    """20·log10 of an amplitude relative to full scale, floored at FLOOR_DBFS (JSON has no -inf)."""
    if amplitude <= 10.0 ** (FLOOR_DBFS / 20.0):
        return FLOOR_DBFS
    return 20.0 * math.log10(amplitude)


def hop_frames(sample_rate: int) -> int:
    """Frames in a 100 ms hop, the BS.1770 gating step and the silence window, rounded as
    libebur128 rounds it (1103 at 11 025 Hz)."""
    return (sample_rate + 5) // 10


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
            KWeighting(sample_rate, channels, block_frames, chunk=_chunk_frames(self._hop))
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
            format=major_format.lower(),
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
        if len(recent) >= _HOPS_PER_GATING_BLOCK:
            window = np.ones(_HOPS_PER_GATING_BLOCK)
            self._gate.add(np.convolve(recent, window, "valid") / (len(window) * self._hop))
        self._recent = recent[1 - _HOPS_PER_GATING_BLOCK :]


def bs1770_channel_gains(channels: int) -> npt.NDArray[np.float64]:
    """BS.1770 weights: 1.41 for the surrounds of 5.0 (L R C Ls Rs) and 5.1 (L R C LFE Ls Rs),
    0 for the LFE; 1 for every channel of any other layout (libsndfile does not expose the
    channel mask, so these two WAV orders are assumed)."""
    if channels == 5:
        return np.array([1.0, 1.0, 1.0, 1.41, 1.41])
    if channels == 6:
        return np.array([1.0, 1.0, 1.0, 0.0, 1.41, 1.41])
    return np.ones(channels)


class LoudnessGate:
    """BS.1770 gating of 400 ms block powers, in memory that does not grow with the duration.

    Blocks are counted in a histogram of 0.01 LU bins that also sums each bin's exact power, so
    the result is exact except for blocks within 0.01 LU of the relative gate.
    """

    ABSOLUTE_GATE_LUFS = -70.0
    RELATIVE_GATE_LU = -10.0
    _STEP_LU = 0.01
    _BINS = 10_000  # -70 .. +30 LUFS; louder blocks (only float files go there) share the top bin

    def __init__(self) -> None:
        self._counts = np.zeros(self._BINS, dtype=np.int64)
        self._powers = np.zeros(self._BINS)

    @staticmethod
    def lufs(power: npt.ArrayLike) -> npt.NDArray[np.float64]:
        with np.errstate(divide="ignore"):
            return -0.691 + 10.0 * np.log10(power)

    def add(self, powers: npt.NDArray[np.float64]) -> None:
        """Count blocks by their power: the channel-weighted sum of K-weighted mean squares."""
        loudness = self.lufs(powers)
        kept = loudness > self.ABSOLUTE_GATE_LUFS
        bins = ((loudness[kept] - self.ABSOLUTE_GATE_LUFS) / self._STEP_LU).astype(np.intp)
        bins = np.minimum(bins, self._BINS - 1)
        np.add.at(self._counts, bins, 1)
        np.add.at(self._powers, bins, powers[kept])

    def integrated(self) -> float | None:
        """Integrated loudness in LUFS, or None when no block passed the absolute gate."""
        total = int(self._counts.sum())
        if total == 0:
            return None
        gate = float(self.lufs(self._powers.sum() / total)) + self.RELATIVE_GATE_LU
        centres = self.ABSOLUTE_GATE_LUFS + (np.arange(self._BINS) + 0.5) * self._STEP_LU
        kept = centres > gate
        return float(self.lufs(self._powers[kept].sum() / self._counts[kept].sum()))


Biquad = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]
"""Numerator and denominator coefficients (b, a) of a second-order section, a[0] = 1."""


def k_weighting_sections(sample_rate: int) -> list[Biquad]:
    """BS.1770 K-weighting as two biquads (b, a): the pre-filter shelf, then the RLB high-pass.

    The analogue designs are mapped with the bilinear transform, as libebur128 does, which gives
    the coefficients tabulated in BS.1770-4 at 48 kHz and the same response at other rates.
    """
    k = math.tan(math.pi * 1681.974450955533 / sample_rate)
    q = 0.7071752369554196
    vh = 10.0 ** (3.999843853973347 / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf_b = np.array([vh + vb * k / q + k * k, 2.0 * (k * k - vh), vh - vb * k / q + k * k]) / a0
    shelf_a = np.array([a0, 2.0 * (k * k - 1.0), 1.0 - k / q + k * k]) / a0
    k = math.tan(math.pi * 38.13547087602444 / sample_rate)
    q = 0.5003270373238773
    a0 = 1.0 + k / q + k * k
    high_pass_b = np.array([1.0, -2.0, 1.0])
    high_pass_a = np.array([a0, 2.0 * (k * k - 1.0), 1.0 - k / q + k * k]) / a0
    return [(shelf_b, shelf_a), (high_pass_b, high_pass_a)]


class KWeighting:
    """The K-weighting filter over (channels, frames) float32 blocks, its state carried across.

    A per-sample loop is far too slow in Python and an FFT costs more than the decoding, so the
    recursion runs as matrix products. The signal is cut into chunks of `chunk` frames: a
    chunk's output is T·x (T: the lower-triangular Toeplitz matrix of the impulse response) plus
    O·s, the response to the filter state s at its start. The states follow s[m+1] = P·s[m] +
    G·x[m]. That recursion is solved for a whole block in two levels: within groups of `group`
    chunks by one matrix product, then from group to group by a doubling scan, which stops once
    the powers of P have decayed below float32 resolution (a few steps).
    """

    def __init__(
        self, sample_rate: int, channels: int, max_frames: int, chunk: int = 48, group: int = 16
    ) -> None:
        a, b, c, d = _balanced(*_state_space(k_weighting_sections(sample_rate)))
        order = len(b)
        powers = [np.eye(order)]  # A^k, for k up to one chunk
        for _ in range(chunk):
            powers.append(a @ powers[-1])
        impulse = np.array([d] + [c @ powers[i] @ b for i in range(chunk - 1)])
        lags = np.subtract.outer(np.arange(chunk), np.arange(chunk))
        toeplitz = np.where(lags >= 0, impulse[np.maximum(lags, 0)], 0.0)
        from_state = np.array([c @ powers[i] for i in range(chunk)])
        to_state = np.array([powers[chunk - 1 - i] @ b for i in range(chunk)])  # Gᵀ
        steps = [np.eye(order)]  # P^k = A^(k·chunk), for k up to one group
        for _ in range(group):
            steps.append(powers[chunk] @ steps[-1])
        zero = np.zeros((order, order))
        # Chunks are rows, so every matrix is kept transposed: y = x·Tᵀ + s·Oᵀ, s' = s·Pᵀ + x·Gᵀ.
        self._t = toeplitz.T.astype(np.float32)
        self._o = from_state.T.astype(np.float32)
        self._g = to_state.astype(np.float32)
        self._powers = np.array([p.T for p in powers], dtype=np.float32)
        # Row block k, column block i: what chunk k of a group adds to the state after chunk i.
        self._within = np.block(
            [[steps[i - k].T if i >= k else zero for i in range(group)] for k in range(group)]
        ).astype(np.float32)
        # What the state at a group's start adds to the state after each of its chunks.
        self._across = np.hstack([steps[i + 1].T for i in range(group)]).astype(np.float32)
        self._scan: list[FloatArray] = []
        step = steps[group]
        while np.linalg.norm(step, 2) > 1e-8:
            self._scan.append(step.T.astype(np.float32))
            step = step @ step
        self._chunk, self._group = chunk, group
        self._state = np.zeros((channels, order), dtype=np.float32)
        chunks = -(-max_frames // chunk)
        groups = -(-chunks // group)
        self._added = np.zeros((channels, groups * group, order), dtype=np.float32)
        self._starts = np.empty((channels, chunks, order), dtype=np.float32)
        self._out = np.empty((channels, chunks, chunk), dtype=np.float32)
        self._ringing = np.empty_like(self._out)

    def __call__(self, block: FloatArray) -> FloatArray:
        """The K-weighted block, shape (channels, frames); `block` needs contiguous rows.

        The result is a view of a buffer that the next call overwrites.
        """
        channels, frames = block.shape
        size, group, order = self._chunk, self._group, self._state.shape[1]
        count = -(-frames // size)
        if count * size != frames:
            # Only a file's last block is short: zeros after it leave earlier outputs unchanged.
            block = np.concatenate(
                [block, np.zeros((channels, count * size - frames), np.float32)], axis=1
            )
        chunks = block.reshape(channels, count, size)
        groups = -(-count // group)
        # What each chunk adds to the state from zero; then the states after each chunk within
        # its group, then at the groups' starts (row 0: the state carried in), then after all.
        added = self._added[:, : groups * group]
        np.matmul(chunks, self._g, out=added[:, :count])
        added[:, count:] = 0.0
        within = added.reshape(channels, groups, group * order) @ self._within
        group_starts = np.empty((channels, groups + 1, order), dtype=np.float32)
        group_starts[:, 0] = self._state
        group_starts[:, 1:] = within[:, :, -order:]
        shift = 1
        for power in self._scan:
            if shift > groups:
                break
            group_starts[:, shift:] += group_starts[:, :-shift] @ power
            shift *= 2
        after = group_starts[:, :-1] @ self._across + within
        after = after.reshape(channels, groups * group, order)
        starts = self._starts[:, :count]
        starts[:, 0] = self._state
        starts[:, 1:] = after[:, : count - 1]
        out, ringing = self._out[:, :count], self._ringing[:, :count]
        np.matmul(chunks, self._t, out=out)
        np.matmul(starts, self._o, out=ringing)
        out += ringing
        tail = frames - (count - 1) * size
        if tail == size:
            self._state = after[:, count - 1].copy()
        else:
            last = block[:, (count - 1) * size : frames]
            self._state = starts[:, -1] @ self._powers[tail] + last @ self._g[size - tail :]
        return out.reshape(channels, count * size)[:, :frames]


def _state_space(
    sections: list[Biquad],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
    """(A, B, C, D) of a cascade of biquads, each in transposed direct form II."""
    a = np.zeros((0, 0))
    b = np.zeros(0)
    c = np.zeros(0)
    d = 1.0
    for num, den in sections:
        section_a = np.array([[-den[1], 1.0], [-den[2], 0.0]])
        section_b = np.array([num[1] - den[1] * num[0], num[2] - den[2] * num[0]])
        # The section is fed by the cascade so far: its input is c·s + d·x.
        a = np.block([[a, np.zeros((len(b), 2))], [np.outer(section_b, c), section_a]])
        b = np.concatenate([b, section_b * d])
        c = np.concatenate([num[0] * c, [1.0, 0.0]])
        d *= float(num[0])
    return a, b, c, d


def _chunk_frames(hop: int) -> int:
    """The filter's chunk: the largest divisor of the hop from 24 to 48, so that blocks of whole
    hops are whole chunks; 32 where there is none (blocks are then padded, which costs a copy)."""
    return next((size for size in range(48, 23, -1) if hop % size == 0), 32)


def _balanced(
    a: npt.NDArray[np.float64], b: npt.NDArray[np.float64], c: npt.NDArray[np.float64], d: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
    """The same system in balanced coordinates (equal controllability and observability Gramians).

    In direct form, the RLB high-pass's nearly double pole near z = 1 makes the chunk's transition
    matrix far from normal (entries near 50 though its eigenvalues are below 1), which magnifies
    float32 rounding a hundredfold; in balanced coordinates ||A^k|| <= 1 for every k.
    """

    def gramian(m: npt.NDArray[np.float64], v: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        # Solves W = m·W·mᵀ + v·vᵀ (a discrete Lyapunov equation) as one linear system.
        size = len(v)
        rhs = np.outer(v, v).ravel()
        solution = np.linalg.solve(np.eye(size * size) - np.kron(m, m), rhs)
        return solution.reshape(size, size).astype(np.float64)

    lc = np.linalg.cholesky(gramian(a, b))
    lo = np.linalg.cholesky(gramian(a.T, c))
    u, sigma, vt = np.linalg.svd(lo.T @ lc)
    to_balanced = (u / np.sqrt(sigma)).T @ lo.T
    from_balanced = lc @ vt.T / np.sqrt(sigma)
    return to_balanced @ a @ from_balanced, to_balanced @ b, c @ from_balanced, d
