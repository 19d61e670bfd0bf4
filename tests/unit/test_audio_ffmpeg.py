"""AudioFunction's FFmpeg path (audio_analyzer.ffmpeg_decoding): phone and recorder audio
(helper corpus mediaflow/corpora/phone_audio.py) measured like every other format, checked
against a reference decode of the same file; broken files refused as media errors; the
decoder chosen by the file's bytes; memory flat in the length."""

from __future__ import annotations

import dataclasses
import io
import math
import tracemalloc
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import soundfile as sf
from audio_analyzer.analysis import AudioAnalysis, analyze_audio
from audio_analyzer.errors import CorruptMedia, MediaError, MediaTooLarge, UnsupportedMediaType
from audio_analyzer.ffmpeg_decoding import frame_blocks
from audio_analyzer.loudness import k_weighting_sections
from audio_analyzer.settings import AudioSettings

from mediaflow.corpora.phone_audio import (
    COMMITTED_RECORDINGS,
    PHONE_RECORDINGS,
    PhoneRecording,
    broken_copies,
    tones,
    write_aac_m4a,
    write_video_mp4,
)
from tests.conftest import lambda_pythonpath, run_python

Recordings = dict[str, tuple[PhoneRecording, Path]]

ALL = [recording.name for recording in (*PHONE_RECORDINGS, *COMMITTED_RECORDINGS)]
FFMPEG = [name for name in ALL if not name.endswith(".wav")]
SUBTYPES = {"aac-lc": "aac", "he-aac-v2": "aac", "alac": "alac", "amr-nb": "amr_nb"}
SUBTYPES |= {"amr-wb": "amr_wb", "pcm": "PCM_16"}
RAW_STREAMS = {"aac", "amr", "amr-wb"}
ROOT = Path(__file__).resolve().parents[2]


@dataclasses.dataclass(frozen=True)
class Reference:
    """A whole file decoded at once: PyAV for FFmpeg's containers, soundfile for WAV."""

    rate: int
    samples: np.ndarray  # (channels, frames), float64 in ±1.0

    @property
    def peak_dbfs(self) -> float:
        return 20 * math.log10(float(np.abs(self.samples).max()))

    @property
    def rms_dbfs(self) -> float:
        return 10 * math.log10(float(np.mean(self.samples**2)))


def reference_decode(path: Path) -> Reference:
    if path.suffix == ".wav":
        samples, rate = sf.read(path, dtype="float64", always_2d=True)
        return Reference(rate, samples.T)
    scales = {"s16": 2.0**-15, "s32": 2.0**-31, "flt": 1.0, "fltp": 1.0}
    parts, rate = [], 0
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            rate = frame.sample_rate
            array = frame.to_ndarray().astype(np.float64)
            if not frame.format.is_planar:
                array = array.reshape(-1, frame.layout.nb_channels).T
            parts.append(array * scales[frame.format.name.removesuffix("p")])
    return Reference(rate, np.concatenate(parts, axis=1))


def reference_loudness(samples: np.ndarray, rate: int) -> float | None:
    """BS.1770-4 integrated loudness with the K-weighting applied in the frequency domain (the
    analysis filters in the time domain), zero-padded by 2 s so the filter's tail decays before
    it wraps; 400 ms blocks every 100 ms, gated plainly."""
    size = samples.shape[1] + 2 * rate
    frequencies = np.exp(-2j * np.pi * np.fft.rfftfreq(size))  # z⁻¹ on the FFT grid
    response = np.ones_like(frequencies)
    for b, a in k_weighting_sections(rate):
        response *= np.polyval(b[::-1], frequencies) / np.polyval(a[::-1], frequencies)
    weighted = np.fft.irfft(np.fft.rfft(samples, size) * response, size)[:, : samples.shape[1]]
    hop, block = rate // 10, 4 * (rate // 10)
    powers = np.array(
        [
            (weighted[:, start : start + block] ** 2).mean(axis=1).sum()
            for start in range(0, weighted.shape[1] - block + 1, hop)
        ]
    )
    with np.errstate(divide="ignore"):
        loudness = -0.691 + 10 * np.log10(powers)
    above = powers[loudness > -70]
    if not len(above):
        return None
    gate = -0.691 + 10 * np.log10(above.mean()) - 10
    return float(-0.691 + 10 * np.log10(powers[(loudness > -70) & (loudness > gate)].mean()))


def analyze(source: Any, **settings: Any) -> AudioAnalysis:
    return analyze_audio(source, dataclasses.replace(AudioSettings(), **settings))


@pytest.mark.parametrize("name", ALL)
def test_each_recording_is_measured_like_its_reference_decode(
    phone_recordings: Recordings, name: str
) -> None:
    recording, path = phone_recordings[name]
    reference = reference_decode(path)

    result = analyze(path)

    assert (result.sample_rate, result.channels) == (recording.sample_rate, recording.channels)
    assert (result.format, result.subtype) == (recording.format, SUBTYPES[recording.codec])
    allowed = 0.01 * recording.seconds + recording.priming_frames / recording.sample_rate
    assert abs(result.duration_seconds - recording.seconds) <= allowed
    assert result.peak_dbfs == pytest.approx(reference.peak_dbfs, abs=0.5)
    assert result.rms_dbfs == pytest.approx(reference.rms_dbfs, abs=0.5)
    expected_loudness = reference_loudness(reference.samples, reference.rate)
    if expected_loudness is None:
        assert result.loudness_lufs is None
    else:
        assert result.loudness_lufs == pytest.approx(expected_loudness, abs=0.5)
    # The waveform spans the whole recording (ADTS and AMR lengths are counted, not estimated).
    assert not np.isnan(result.waveform_max).any()
    assert float(np.max(result.waveform_max)) == pytest.approx(
        float(reference.samples.max()), abs=0.02
    )
    assert abs(result.dc_offset) < 0.01
    if recording.tones:
        assert (result.clipping_ratio, result.silence_ratio) == (0.0, 0.0)
        # The mix's energy lies between the two tones (440 Hz, and 1000 Hz on the right).
        assert 430 <= result.spectral_centroid_hz <= 1010


def test_rifx_is_read_by_libsndfile_as_the_tones_it_holds(phone_recordings: Recordings) -> None:
    recording, path = phone_recordings["pcm-44k-stereo-rifx.wav"]
    written = tones(recording.sample_rate, recording.channels).seconds(recording.seconds)

    result = analyze(path)

    assert (result.format, result.subtype, result.duration_seconds) == ("wav", "PCM_16", 3.0)
    assert result.peak_dbfs == pytest.approx(20 * math.log10(np.abs(written).max()), abs=0.01)
    assert result.rms_dbfs == pytest.approx(10 * math.log10(np.mean(written**2)), abs=0.01)


@pytest.mark.parametrize("name", FFMPEG)
def test_broken_copies_are_refused_as_media_errors(
    phone_recordings: Recordings, name: str, tmp_path: Path
) -> None:
    recording, path = phone_recordings[name]
    for kind, data in broken_copies(path.read_bytes()).items():
        broken = tmp_path / f"{kind}-{name}"
        broken.write_bytes(data)
        try:
            result = analyze(broken)
        except MediaError:
            continue
        # Raw ADTS and AMR carry no length: cut between two frames, the first half is a valid,
        # shorter recording (as the HE-AACv2 fixture's half is), which no decoder can tell apart.
        assert kind == "truncated" and recording.format in RAW_STREAMS, kind
        assert result.duration_seconds < 0.6 * recording.seconds


def test_a_faststart_m4a_cut_between_packets_is_refused_as_truncated(
    phone_recordings: Recordings, tmp_path: Path
) -> None:
    # Cut where a packet starts, so that every packet left is whole: FFmpeg decodes it silently.
    _, path = phone_recordings["aac-lc-44k-stereo-faststart.m4a"]
    with av.open(str(path)) as container:
        starts = [packet.pos for packet in container.demux(audio=0) if packet.size]
    cut = tmp_path / "cut.m4a"
    cut.write_bytes(path.read_bytes()[: starts[len(starts) // 2]])

    with pytest.raises(CorruptMedia, match="truncated"):
        analyze(cut)


def test_an_mp4_with_a_video_track_is_refused(tmp_path: Path) -> None:
    path = write_video_mp4(tmp_path / "clip.mp4")

    with pytest.raises(UnsupportedMediaType, match="video track"):
        analyze(path)


def mux(path: Path, codec: str, streams: int = 1) -> Path:
    """0.2 s of the tones, encoded with `codec` into `streams` audio streams of one MP4."""
    rate = 48000
    samples = np.ascontiguousarray(tones(rate, 2).seconds(0.2).T, dtype=np.float32)
    with av.open(str(path), "w", format="mp4") as out:
        # Every stream before the first packet: the header is written with the first one.
        added = [out.add_stream(codec, rate=rate, layout="stereo") for _ in range(streams)]
        for stream in added:
            assert isinstance(stream, av.AudioStream)
            resampler = av.AudioResampler(
                format=stream.codec_context.format,
                layout="stereo",
                rate=rate,
                frame_size=stream.codec_context.frame_size or 1024,
            )
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
            for part in [*resampler.resample(frame), *resampler.resample(None)]:
                out.mux(stream.encode(part))
            out.mux(stream.encode(None))
    return path


def test_an_mp4_with_a_codec_outside_the_contract_is_unsupported(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedMediaType, match="opus"):
        analyze(mux(tmp_path / "opus.m4a", "libopus"))


def test_an_mp4_with_two_audio_streams_is_unsupported(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedMediaType, match="2 audio streams"):
        analyze(mux(tmp_path / "two.m4a", "aac", streams=2))


def test_the_decoder_follows_the_bytes_not_the_name(
    phone_recordings: Recordings, tmp_path: Path
) -> None:
    _, m4a = phone_recordings["aac-lc-48k-stereo.m4a"]
    _, rifx = phone_recordings["pcm-44k-stereo-rifx.wav"]
    renamed_m4a, renamed_rifx = tmp_path / "voice.wav", tmp_path / "voice.m4a"
    renamed_m4a.write_bytes(m4a.read_bytes())
    renamed_rifx.write_bytes(rifx.read_bytes())

    assert (analyze(renamed_m4a).format, analyze(renamed_rifx).format) == ("mp4", "wav")


@pytest.mark.parametrize("name", ["aac-lc-48k-stereo.m4a", "alac-48k-stereo.caf"])
def test_results_do_not_depend_on_block_size_or_the_source_kind(
    phone_recordings: Recordings, name: str
) -> None:
    _, path = phone_recordings[name]
    default = analyze(path)

    # 4096-frame blocks split AAC's 1024-frame and ALAC's 4096-frame packets across blocks.
    small = analyze(path, block_frames=4096)
    streamed = analyze(io.BytesIO(path.read_bytes()))

    for other in (small, streamed):
        assert other.duration_seconds == default.duration_seconds
        assert other.peak_dbfs == default.peak_dbfs
        assert other.rms_dbfs == pytest.approx(default.rms_dbfs, abs=1e-4)
        assert other.loudness_lufs == pytest.approx(default.loudness_lufs, abs=1e-3)
        np.testing.assert_array_equal(other.waveform_max, default.waveform_max)


def test_a_recording_longer_than_the_limit_is_too_large(phone_recordings: Recordings) -> None:
    _, path = phone_recordings["aac-lc-44k-stereo.aac"]
    with pytest.raises(MediaTooLarge):
        analyze(path, max_audio_seconds=2.0)


def test_memory_stays_flat_in_the_length(tmp_path: Path) -> None:
    """Blocks, not the whole file: the analysis's Python and numpy allocations peak at the same
    size for 8 s and 32 s of 48 kHz stereo, far below the 12 MB that 32 s decode to. Blocks of
    4096 frames fill the batch of 32 FFT frames within 3 s (with the default blocks it takes
    43 s, and the batch's transform is the peak). FFmpeg's own allocations are not traced (they
    are per frame); bench/audio.py measures RSS."""
    peaks = []
    for seconds in (8.0, 32.0):
        path = write_aac_m4a(tmp_path / f"{seconds:g}.m4a", tones(48000, 2), seconds)
        analyze(path, block_frames=4096)  # imports and one-time tables out of the count
        tracemalloc.start()
        try:
            analyze(path, block_frames=4096)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()

    assert peaks[1] < 1.1 * peaks[0]
    assert peaks[1] < 32 * 48000 * 2 * 4 / 4


def test_ffmpeg_is_loaded_only_for_a_file_that_needs_it(
    phone_recordings: Recordings,
) -> None:
    _, rifx = phone_recordings["pcm-44k-stereo-rifx.wav"]
    _, m4a = phone_recordings["aac-lc-48k-stereo.m4a"]
    script = (
        "import sys\n"
        "from audio_analyzer.analysis import analyze_audio\n"
        f"analyze_audio({str(rifx)!r})\n"
        "print('av' in sys.modules)\n"
        f"analyze_audio({str(m4a)!r})\n"
        "print('av' in sys.modules)\n"
    )
    result = run_python(script, cwd=ROOT, pythonpath=lambda_pythonpath("AudioFunction"))

    assert result.stdout.split() == ["False", "True"], result.stderr


@pytest.mark.parametrize("sample_format", ["fltp", "flt", "s16p", "s16", "s32p", "u8", "dblp"])
def test_every_sample_format_becomes_the_same_float32_blocks(sample_format: str) -> None:
    """FFmpeg's decoders put out planar float (AAC, AMR) or planar integers (ALAC); any other
    layout of samples is converted as well, in blocks of whole hops."""
    rate, hop, per_frame = 8000, 800, 1000
    signal = tones(rate, 2).seconds(1.0).T  # (2, 8000) within ±0.5
    dtype, scale, offset = {
        "flt": (np.float32, 1.0, 0),
        "s16": (np.int16, 2.0**15, 0),
        "s32": (np.int32, 2.0**31, 0),
        "u8": (np.uint8, 2.0**7, 128),
        "dbl": (np.float64, 1.0, 0),
    }[sample_format.removesuffix("p")]
    coded = (signal * scale + offset).round() if scale != 1.0 else signal
    frames = []
    for start in range(0, signal.shape[1], per_frame):
        part = np.ascontiguousarray(coded[:, start : start + per_frame], dtype=dtype)
        if not sample_format.endswith("p"):
            part = part.T.reshape(1, -1)  # interleaved
        frame = av.AudioFrame.from_ndarray(part, format=sample_format, layout="stereo")
        frame.sample_rate = rate
        frames.append(frame)

    blocks = [
        block.copy() for block in frame_blocks(frames[0], iter(frames[1:]), 2, None, 1600, hop)
    ]

    # Whole 800-frame hops of 1600 to 2400 frames, whatever the 1000-frame frames.
    assert [block.shape[1] for block in blocks] == [1600, 2400, 1600, 2400]
    assert all(block.dtype == np.float32 for block in blocks)
    np.testing.assert_allclose(np.concatenate(blocks, axis=1), signal, atol=1.5 / scale)
