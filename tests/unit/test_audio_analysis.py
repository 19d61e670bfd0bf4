"""Audio analysis (functions/audio): measurements on a corpus of generated recordings."""

from __future__ import annotations

import bisect
import dataclasses
import io
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from audio_analyzer.analysis import FLOOR_DBFS, AudioAnalysis, analyze_audio, column_starts
from audio_analyzer.errors import CorruptMedia, MediaTooLarge, UnsupportedMediaType
from audio_analyzer.loudness import KWeighting, LoudnessGate, k_weighting_sections
from audio_analyzer.settings import AudioSettings
from audio_analyzer.waveform import HEIGHT, WIDTH, render_waveform_png
from PIL import Image

from mediaflow.corpora.audio import (
    can_write,
    clipped_square,
    dc,
    field_recording,
    silence,
    sine,
    sine_rms_dbfs,
    write_audio,
)

MINUS_23_DBFS = 10 ** (-23 / 20)


def analyze(path: Path, **settings: Any) -> AudioAnalysis:
    """The analysis with the function's default settings, but for `settings`."""
    return analyze_audio(path, dataclasses.replace(AudioSettings(), **settings))


# --- levels, format and layout ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "subtype"),
    [
        ("u8.wav", "PCM_U8"),
        ("s16.wav", "PCM_16"),
        ("s24.wav", "PCM_24"),
        ("s32.wav", "PCM_32"),
        ("float.wav", "FLOAT"),
        ("double.wav", "DOUBLE"),
        ("s16.rf64", "PCM_16"),
        ("s16.flac", "PCM_16"),
        ("s24.flac", "PCM_24"),
        ("s16.aiff", "PCM_16"),
        ("s16.au", "PCM_16"),
    ],
)
def test_full_scale_sine_has_0_dbfs_peak_and_3_db_lower_rms(
    tmp_path: Path, name: str, subtype: str
) -> None:
    path = write_audio(tmp_path / name, sine(997.0, amplitude=1.0), 1.0, subtype=subtype)

    result = analyze(path)

    assert result.subtype == subtype
    assert result.format == path.suffix[1:]
    assert (result.sample_rate, result.channels, result.duration_seconds) == (48_000, 1, 1.0)
    assert result.peak_dbfs == pytest.approx(0.0, abs=0.1)
    assert result.rms_dbfs == pytest.approx(-3.01, abs=0.05)
    assert result.spectral_centroid_hz == pytest.approx(997.0, rel=0.02)
    assert abs(result.dc_offset) < 2**-7  # within one 8-bit step
    assert result.silence_ratio == 0.0
    # Samples near the crests reach 0.999 of full scale: about 2.8 % of a full-scale sine; in
    # 8-bit audio, the samples that round to the largest code (127/128) count.
    crest = 1 - 1.5 / 128 if subtype == "PCM_U8" else 0.999
    assert result.clipping_ratio == pytest.approx(2 / math.pi * math.acos(crest), abs=0.005)


@pytest.mark.parametrize("channels", [1, 2, 3, 4, 5, 6, 8])
def test_any_channel_count_is_measured_over_all_channels(tmp_path: Path, channels: int) -> None:
    amplitudes = [0.8 / 2**i for i in range(channels)]
    source = sine(440.0, amplitude=amplitudes, channels=channels)
    path = write_audio(tmp_path / "multi.wav", source, 1.5, subtype="PCM_24")

    result = analyze(path)

    assert result.channels == channels
    assert result.format == ("wavex" if channels > 2 else "wav")
    assert result.peak_dbfs == pytest.approx(20 * math.log10(0.8), abs=0.01)
    mean_square = sum(a * a / 2 for a in amplitudes) / channels
    assert result.rms_dbfs == pytest.approx(10 * math.log10(mean_square), abs=0.01)


@pytest.mark.parametrize(
    ("name", "subtype"),
    [("vorbis.ogg", "VORBIS"), ("voice.opus", "OPUS"), ("lossy.mp3", "MPEG_LAYER_III")],
)
def test_lossy_formats_are_decoded_and_measured(tmp_path: Path, name: str, subtype: str) -> None:
    major = "MP3" if subtype == "MPEG_LAYER_III" else "OGG"
    if not can_write(major, subtype):
        pytest.skip(f"this libsndfile cannot encode {subtype}")
    source = sine(1000.0, amplitude=[0.5, 0.5], channels=2)
    path = write_audio(tmp_path / name, source, 2.0)

    result = analyze(path)

    assert (result.format, result.subtype, result.channels) == (major.lower(), subtype, 2)
    assert result.duration_seconds == pytest.approx(2.0, abs=0.1)
    assert -7.0 < result.peak_dbfs < -2.0  # codecs overshoot where the tone stops
    assert result.rms_dbfs == pytest.approx(sine_rms_dbfs(0.5), abs=0.3)
    assert result.spectral_centroid_hz == pytest.approx(1000.0, rel=0.05)
    assert result.loudness_lufs == pytest.approx(-6.0, abs=0.5)


def test_digital_silence_reports_floor_levels_and_no_loudness(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "silence.wav", silence(channels=2), 2.0)

    result = analyze(path)

    assert result.silence_ratio == 1.0
    assert result.peak_dbfs == result.rms_dbfs == FLOOR_DBFS
    assert result.loudness_lufs is None  # every block is below the absolute gate
    assert (result.clipping_ratio, result.dc_offset, result.spectral_centroid_hz) == (0, 0, 0)


def test_clipped_square_wave_has_a_high_clipping_ratio(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "square.wav", clipped_square(100.0), 1.0)

    result = analyze(path)

    # |8·sin| >= 0.999 for all but 2·asin(0.999/8)/π of the time.
    expected = 1 - 2 / math.pi * math.asin(0.999 / 8)
    assert result.clipping_ratio == pytest.approx(expected, abs=0.01)
    assert result.peak_dbfs == pytest.approx(0.0, abs=0.01)


def test_8_bit_audio_clips_at_its_largest_code(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "square.wav", clipped_square(100.0), 1.0, subtype="PCM_U8")

    assert analyze(path).clipping_ratio > 0.9


def test_quiet_audio_does_not_clip(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "half.wav", sine(1000.0, amplitude=0.5), 1.0)

    assert analyze(path).clipping_ratio == 0.0


def test_dc_offset_is_the_channel_mean_furthest_from_zero(tmp_path: Path) -> None:
    source = sine(200.0, amplitude=0.25, channels=2) + dc(0.1, channels=2)
    path = write_audio(tmp_path / "offset.wav", source, 1.0, subtype="FLOAT")
    assert analyze(path).dc_offset == pytest.approx(0.1, abs=1e-4)

    skewed = np.column_stack([np.full(48_000, 0.1), np.full(48_000, -0.3)])
    sf.write(tmp_path / "skewed.wav", skewed, 48_000, subtype="FLOAT")
    assert analyze(tmp_path / "skewed.wav").dc_offset == pytest.approx(-0.3, abs=1e-6)


def test_spectral_centroid_ignores_dc_and_follows_pitch(tmp_path: Path) -> None:
    low = write_audio(tmp_path / "low.wav", sine(500.0, amplitude=0.3) + dc(0.2), 1.0)
    high = write_audio(tmp_path / "high.wav", sine(4000.0, amplitude=0.3), 1.0)

    assert analyze(low).spectral_centroid_hz == pytest.approx(500.0, rel=0.03)
    assert analyze(high).spectral_centroid_hz == pytest.approx(4000.0, rel=0.02)


def test_silence_ratio_counts_windows_below_the_threshold(tmp_path: Path) -> None:
    quiet = sine(1000.0, amplitude=10 ** (-70 / 20)).seconds(1.0)
    loud = sine(1000.0, amplitude=0.5).seconds(3.0)
    sf.write(tmp_path / "mixed.wav", np.concatenate([quiet, loud]), 48_000, subtype="FLOAT")

    assert analyze(tmp_path / "mixed.wav").silence_ratio == pytest.approx(0.25)
    assert analyze(tmp_path / "mixed.wav", silence_threshold_dbfs=-80).silence_ratio == 0.0


def test_field_recording_is_neither_silent_nor_clipped(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "dawn.wav", field_recording(channels=2), 5.0)

    result = analyze(path)

    assert -40 < result.rms_dbfs < result.peak_dbfs < 0
    assert 1500 < result.spectral_centroid_hz < 6000
    assert result.clipping_ratio == 0.0
    assert 0.0 <= result.silence_ratio < 0.5
    assert result.loudness_lufs is not None and -40 < result.loudness_lufs < 0


def test_a_50_ms_clip_is_measured_but_too_short_for_loudness(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "click.wav", sine(1000.0, amplitude=0.5), 0.05)

    result = analyze(path)

    assert result.duration_seconds == pytest.approx(0.05)
    assert result.peak_dbfs == pytest.approx(-6.02, abs=0.05)
    assert result.silence_ratio == 0.0
    assert result.spectral_centroid_hz == pytest.approx(1000.0, rel=0.05)
    assert result.loudness_lufs is None  # shorter than one 400 ms gating block
    assert len(result.waveform_max) == WIDTH


def test_loudness_needs_one_whole_400_ms_block(tmp_path: Path) -> None:
    tone = sine(1000.0, amplitude=MINUS_23_DBFS, channels=2)

    too_short = analyze(write_audio(tmp_path / "short.wav", tone, 0.3, subtype="FLOAT"))
    one_block = analyze(write_audio(tmp_path / "block.wav", tone, 0.4, subtype="FLOAT"))

    assert too_short.loudness_lufs is None
    assert one_block.loudness_lufs == pytest.approx(-23.0, abs=0.1)


def test_sample_rates_from_8_to_192_khz(tmp_path: Path) -> None:
    for rate in (8_000, 11_025, 22_050, 44_100, 96_000, 192_000):
        source = sine(1000.0, amplitude=[MINUS_23_DBFS] * 2, sample_rate=rate, channels=2)
        path = write_audio(tmp_path / f"{rate}.wav", source, 1.0, subtype="FLOAT")
        result = analyze(path)
        assert result.sample_rate == rate
        assert result.rms_dbfs == pytest.approx(-26.01, abs=0.01)
        assert result.loudness_lufs == pytest.approx(-23.0, abs=0.1)


def test_below_8_khz_there_is_no_loudness(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "4k.wav", sine(500.0, sample_rate=4000), 1.0)

    result = analyze(path)

    assert result.loudness_lufs is None
    assert result.rms_dbfs == pytest.approx(-3.01, abs=0.01)


# --- loudness (ITU-R BS.1770-4, EBU Tech 3341) --------------------------------------------------


def test_k_weighting_coefficients_match_the_bs1770_table_at_48_khz() -> None:
    (shelf_b, shelf_a), (high_pass_b, high_pass_a) = k_weighting_sections(48_000)

    np.testing.assert_allclose(shelf_b, [1.53512485958697, -2.69169618940638, 1.19839281085285])
    np.testing.assert_allclose(shelf_a, [1.0, -1.69065929318241, 0.73248077421585])
    np.testing.assert_allclose(high_pass_b, [1.0, -2.0, 1.0])
    np.testing.assert_allclose(high_pass_a, [1.0, -1.99004745483398, 0.99007225036621])


def reference_k_weighting(signal: np.ndarray, rate: int) -> np.ndarray:
    """The two biquads run sample by sample in float64 (direct form II transposed)."""
    out = [float(v) for v in signal]
    for b, a in k_weighting_sections(rate):
        s1 = s2 = 0.0
        for i, x in enumerate(out):
            y = b[0] * x + s1
            s1 = b[1] * x - a[1] * y + s2
            s2 = b[2] * x - a[2] * y
            out[i] = y
    return np.array(out)


def reference_loudness(frames: np.ndarray, rate: int) -> float:
    """BS.1770-4 integrated loudness, written out plainly (no histogram, no blocks)."""
    weighted = np.column_stack([reference_k_weighting(c, rate) for c in frames.T])
    hop, size = rate // 10, 4 * (rate // 10)
    powers = np.array(
        [
            (weighted[start : start + size] ** 2).mean(axis=0).sum()
            for start in range(0, len(weighted) - size + 1, hop)
        ]
    )
    with np.errstate(divide="ignore"):
        loudness = -0.691 + 10 * np.log10(powers)
    above = powers[loudness > -70]
    gate = -0.691 + 10 * np.log10(above.mean()) - 10
    return float(-0.691 + 10 * np.log10(powers[(loudness > -70) & (loudness > gate)].mean()))


@pytest.mark.parametrize(
    "block_sizes", [[24_000], [4096] * 5 + [3520], [1000] * 24, [7, 57, 23_936]]
)
def test_k_weighting_filter_matches_a_per_sample_reference_across_blocks(
    block_sizes: list[int],
) -> None:
    signal = field_recording(channels=2).seconds(0.5)
    signal[6000:9000] += 0.4  # a step, to excite the high-pass's slow pole
    reference = np.stack([reference_k_weighting(c, 48_000) for c in signal.T])

    k_weighting = KWeighting(48_000, 2, max(block_sizes))
    parts, start = [], 0
    for size in block_sizes:
        block = np.ascontiguousarray(signal[start : start + size].T, dtype=np.float32)
        parts.append(k_weighting(block).copy())
        start += size

    np.testing.assert_allclose(np.concatenate(parts, axis=1), reference, atol=2e-6)


def test_loudness_matches_the_reference_implementation(tmp_path: Path) -> None:
    source = field_recording(channels=2, seed=3, sample_rate=16_000)
    frames = source.seconds(3.0)
    frames[:8000] *= 0.01  # a quiet start, below the relative gate
    sf.write(tmp_path / "dawn.wav", frames, 16_000, subtype="FLOAT")

    measured = analyze(tmp_path / "dawn.wav", block_frames=4096).loudness_lufs

    assert measured == pytest.approx(reference_loudness(frames, 16_000), abs=0.01)


def test_0_dbfs_997_hz_sine_in_one_channel_is_minus_3_01_lkfs(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "997.wav", sine(997.0), 2.0, subtype="FLOAT")

    assert analyze(path).loudness_lufs == pytest.approx(-3.01, abs=0.02)


def test_stereo_1_khz_sine_at_minus_23_dbfs_is_minus_23_lufs(tmp_path: Path) -> None:
    """EBU Tech 3341, test case 1."""
    source = sine(1000.0, amplitude=MINUS_23_DBFS, channels=2)
    path = write_audio(tmp_path / "case1.wav", source, 5.0, subtype="PCM_24")

    assert analyze(path).loudness_lufs == pytest.approx(-23.0, abs=0.05)


def test_relative_gate_ignores_quiet_passages(tmp_path: Path) -> None:
    """EBU Tech 3341, test case 3 (at 8 kHz, to stay quick): -36, -23, -36 dBFS."""
    quiet = sine(1000.0, amplitude=10 ** (-36 / 20), sample_rate=8000, channels=2).seconds(10)
    loud = sine(1000.0, amplitude=MINUS_23_DBFS, sample_rate=8000, channels=2).seconds(60)
    sf.write(tmp_path / "case3.wav", np.concatenate([quiet, loud, quiet]), 8000, subtype="FLOAT")

    assert analyze(tmp_path / "case3.wav").loudness_lufs == pytest.approx(-23.0, abs=0.1)


def test_absolute_gate_ignores_digital_silence(tmp_path: Path) -> None:
    loud = sine(1000.0, amplitude=MINUS_23_DBFS, sample_rate=8000, channels=2).seconds(2.0)
    frames = np.concatenate([loud, np.zeros((16_000, 2))])
    sf.write(tmp_path / "gap.wav", frames, 8000, subtype="FLOAT")

    measured = analyze(tmp_path / "gap.wav").loudness_lufs

    assert measured == pytest.approx(reference_loudness(frames, 8000), abs=0.01)
    # counting the silent blocks would give about -26
    assert measured is not None and measured > -23.5


def test_surround_channels_weigh_1_41_and_lfe_not_at_all(tmp_path: Path) -> None:
    def only_in(channel: int) -> Path:
        amplitudes = [0.0] * 6
        amplitudes[channel] = MINUS_23_DBFS
        source = sine(1000.0, amplitude=amplitudes, channels=6)
        return write_audio(tmp_path / f"ch{channel}.wav", source, 2.0, subtype="FLOAT")

    # One channel of a -23 dBFS sine is 3 dB below the stereo case.
    assert analyze(only_in(0)).loudness_lufs == pytest.approx(-26.0, abs=0.05)
    assert analyze(only_in(3)).loudness_lufs is None
    expected = -26.0 + 10 * math.log10(1.41)
    assert analyze(only_in(4)).loudness_lufs == pytest.approx(expected, abs=0.05)


def test_loudness_gate_keeps_blocks_in_a_histogram() -> None:
    gate = LoudnessGate()
    assert gate.integrated() is None

    gate.add(np.array([10 ** ((-20 + 0.691) / 10)] * 3 + [10 ** ((-80 + 0.691) / 10)]))
    assert gate.integrated() == pytest.approx(-20.0)


# --- streaming ---------------------------------------------------------------------------------


def test_waveform_columns_split_blocks_where_the_whole_file_splits() -> None:
    starts, firsts = [], []
    for start in range(0, 10_100, 777):  # the header said 10 000 frames; 100 more came
        first, offsets = column_starts(start, min(start + 777, 10_100), 10_000, 7)
        starts += [start + int(o) for o in offsets[1:]]
        firsts.append(first)

    boundaries = [10_000 * j // 7 for j in range(7)]
    assert starts == boundaries[1:]
    assert firsts == [bisect.bisect_right(boundaries, s) - 1 for s in range(0, 10_100, 777)]


@pytest.mark.parametrize("read_ahead", [True, False])
@pytest.mark.parametrize("block_frames", [4096, 20_000, 65_536])
def test_results_do_not_depend_on_block_size_or_threads(
    tmp_path: Path, block_frames: int, read_ahead: bool
) -> None:
    path = write_audio(tmp_path / "dawn.wav", field_recording(channels=2), 3.33, subtype="FLOAT")
    baseline = analyze(path, block_frames=1 << 20, read_ahead=False)

    result = analyze(path, block_frames=block_frames, read_ahead=read_ahead)

    for name in ("peak_dbfs", "rms_dbfs", "dc_offset", "clipping_ratio", "silence_ratio"):
        assert getattr(result, name) == pytest.approx(getattr(baseline, name), abs=1e-6)
    assert result.loudness_lufs == pytest.approx(baseline.loudness_lufs, abs=1e-4)
    np.testing.assert_array_equal(result.waveform_max, baseline.waveform_max)
    np.testing.assert_array_equal(result.waveform_min, baseline.waveform_min)


def test_file_like_objects_are_read_too(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "tone.flac", sine(1000.0, amplitude=0.5), 0.5)

    with path.open("rb") as stream:
        result = analyze_audio(stream)

    assert result.peak_dbfs == pytest.approx(-6.02, abs=0.01)


# --- waveform ----------------------------------------------------------------------------------


def pixels(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    assert (image.format, image.size) == ("PNG", (WIDTH, HEIGHT))
    return np.asarray(image)


def test_waveform_of_a_full_scale_tone_fills_the_height(tmp_path: Path) -> None:
    result = analyze(write_audio(tmp_path / "tone.wav", sine(1000.0), 2.0))

    drawn = pixels(render_waveform_png(result.waveform_min, result.waveform_max)) == 2

    assert drawn[1:-1].all()


def test_waveform_of_silence_is_a_flat_line(tmp_path: Path) -> None:
    result = analyze(write_audio(tmp_path / "silence.wav", silence(), 1.0))

    drawn = pixels(render_waveform_png(result.waveform_min, result.waveform_max)) == 2

    assert drawn.any(axis=1).sum() == 1


def test_waveform_follows_the_envelope_over_time(tmp_path: Path) -> None:
    ramp = np.linspace(0.0, 1.0, 96_000)[:, None] * sine(1000.0).seconds(2.0)
    sf.write(tmp_path / "ramp.wav", ramp, 48_000)

    heights = (pixels(render_waveform_png(*waveform(tmp_path / "ramp.wav"))) == 2).sum(axis=0)

    assert heights[0] <= 2 and heights[-1] >= HEIGHT - 2
    assert (np.diff(heights.astype(int)) >= -2).all()


def waveform(path: Path) -> tuple[np.ndarray, np.ndarray]:
    result = analyze(path)
    return result.waveform_min, result.waveform_max


def test_waveform_of_fewer_frames_than_pixels_still_spans_the_width(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "tiny.wav", sine(1000.0, sample_rate=8000), 0.05)

    minima, maxima = waveform(path)
    drawn = pixels(render_waveform_png(minima, maxima)) == 2

    assert len(maxima) == 400
    assert drawn.any(axis=0).all()


# --- what is refused ---------------------------------------------------------------------------


def wav_with(tmp_path: Path, offset: int, fmt: str, value: int) -> Path:
    """A valid 16-bit mono WAV with one header field overwritten."""
    path = write_audio(tmp_path / "base.wav", sine(1000.0, amplitude=0.5), 0.1)
    header = bytearray(path.read_bytes())
    struct.pack_into(fmt, header, offset, value)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(header)
    return broken


def test_bytes_that_are_not_audio_are_unsupported(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("dawn chorus, 5 am, field recorder 7\n" * 50)

    with pytest.raises(UnsupportedMediaType, match="not audio"):
        analyze(tmp_path / "notes.txt")


def test_truncated_header_is_corrupt(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "tone.wav", sine(1000.0), 0.1)
    (tmp_path / "cut.wav").write_bytes(path.read_bytes()[:30])

    with pytest.raises(CorruptMedia):
        analyze(tmp_path / "cut.wav")


def test_zero_channels_is_corrupt(tmp_path: Path) -> None:
    with pytest.raises(CorruptMedia, match=r"[Cc]hannel"):
        analyze(wav_with(tmp_path, 22, "<H", 0))


def test_zero_hertz_is_corrupt(tmp_path: Path) -> None:
    with pytest.raises(CorruptMedia):
        analyze(wav_with(tmp_path, 24, "<I", 0))


def test_absurd_sample_rate_is_unsupported(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedMediaType, match="sample rate 3 Hz"):
        analyze(wav_with(tmp_path, 24, "<I", 3))


def test_too_many_channels_is_too_large(tmp_path: Path) -> None:
    with pytest.raises(MediaTooLarge, match="999 channels"):
        analyze(wav_with(tmp_path, 22, "<H", 999))


def test_recording_longer_than_the_limit_is_too_large(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "tone.wav", sine(1000.0), 2.0)

    with pytest.raises(MediaTooLarge, match="limit is 1 s"):
        analyze(path, max_audio_seconds=1.0)


def test_file_without_frames_is_corrupt(tmp_path: Path) -> None:
    sf.write(tmp_path / "empty.wav", np.zeros((0, 1)), 48_000)

    with pytest.raises(CorruptMedia, match="no audio frames"):
        analyze(tmp_path / "empty.wav")
