"""Integrated loudness per ITU-R BS.1770-4: the K-weighting filter, the channel weights, and
the gating of 400 ms blocks every 100 ms hop.

`KWeighting` filters decoded blocks exactly, as matrix products (see its docstring);
`LoudnessGate` gates block powers in memory that does not grow with the duration.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from audio_analyzer.decoding import FloatArray

MIN_LOUDNESS_SAMPLE_RATE = 8_000
HOPS_PER_GATING_BLOCK = 4  # BS.1770: 400 ms blocks every 100 ms


def hop_frames(sample_rate: int) -> int:
    """Frames in a 100 ms hop, the BS.1770 gating step and the silence window, rounded as
    libebur128 rounds it (1103 at 11 025 Hz)."""
    return (sample_rate + 5) // 10


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


def k_weighting_chunk(hop: int) -> int:
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
