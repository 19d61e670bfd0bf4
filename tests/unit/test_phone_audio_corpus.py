"""The phone and recorder audio corpus (mediaflow.corpora.phone_audio): each file is what its
PhoneRecording line says, as PyAV (the audio function's decoder) reads it."""

from __future__ import annotations

import struct
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from mediaflow.corpora.phone_audio import (
    COMMITTED_RECORDINGS,
    PHONE_RECORDINGS,
    TONE_AMPLITUDE,
    TONE_FREQUENCIES,
    PhoneRecording,
    broken_copies,
    write_video_mp4,
)

# Inspect's format -> the FFmpeg demuxer that reads it.
DEMUXERS = {
    "mp4": "mov,mp4,m4a,3gp,3g2,mj2",
    "3gp": "mov,mp4,m4a,3gp,3g2,mj2",
    "aac": "aac",
    "caf": "caf",
    "amr": "amr",
    "amr-wb": "amr",
}
# Inspect's codec -> FFmpeg's decoder, the AAC profile, and the frames of one codec frame (the
# most end padding a decode may carry).
CODECS = {
    "aac-lc": ("aac", "LC", 1024),
    "he-aac-v2": ("aac", "HE-AACv2", 2048),
    "alac": ("alac", None, 4096),
    "amr-nb": ("amrnb", None, 160),
    "amr-wb": ("amrwb", None, 320),
}
INTEGER_FULL_SCALE = {"int16": 2.0**15, "int32": 2.0**31}  # ALAC decodes to s16p or s32p
ALL = [*PHONE_RECORDINGS, *COMMITTED_RECORDINGS]
DECODED = [recording for recording in ALL if recording.format != "wav"]


def decode(container: av.container.InputContainer) -> npt.NDArray[np.float64]:
    """Every frame of the first audio stream, as float (channels, frames)."""
    blocks = []
    for frame in container.decode(audio=0):
        samples = frame.to_ndarray()
        if not frame.format.is_planar:
            samples = samples.reshape(-1, len(frame.layout.channels)).T
        blocks.append(samples / INTEGER_FULL_SCALE.get(samples.dtype.name, 1.0))
    return np.concatenate(blocks, axis=1)


def dominant_frequency(samples: npt.NDArray[np.float64], rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])


def top_level_boxes(data: bytes) -> list[bytes]:
    kinds, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        kinds.append(kind)
        offset += size or len(data)
    return kinds


def test_names_are_unique_and_committed_files_exist(
    phone_recordings: dict[str, tuple[PhoneRecording, Path]],
) -> None:
    assert len({recording.name for recording in ALL}) == len(ALL) == len(phone_recordings)
    assert all(path.is_file() for _, path in phone_recordings.values())


@pytest.mark.parametrize("recording", DECODED, ids=lambda recording: recording.name)
def test_pyav_decodes_what_the_line_claims(
    recording: PhoneRecording, phone_recordings: dict[str, tuple[PhoneRecording, Path]]
) -> None:
    decoder, profile, codec_frame = CODECS[recording.codec]
    with av.open(str(phone_recordings[recording.name][1])) as container:
        stream = container.streams.audio[0]
        assert container.format.name == DEMUXERS[recording.format]
        assert stream.codec_context.name == decoder
        assert stream.codec_context.profile == profile
        samples = decode(container)
        assert (stream.rate, stream.channels) == (recording.sample_rate, recording.channels)
    assert samples.shape[0] == recording.channels

    # Priming in front, then the signal, then at most one codec frame of end padding.
    padding = samples.shape[1] - recording.frames - recording.priming_frames
    assert 0 <= padding < codec_frame

    # The tones, where the line says the signal starts: 440 Hz left (or mono), 1000 Hz right.
    signal = samples[:, recording.priming_frames :][:, : recording.frames]
    if not recording.tones:
        assert np.abs(signal).max() < 10 ** (-80 / 20)  # the near-silent HE-AACv2 fixture
        return
    for channel, frequency in zip(range(recording.channels), TONE_FREQUENCIES, strict=False):
        found = dominant_frequency(signal[channel], recording.sample_rate)
        assert found == pytest.approx(frequency, abs=2.0)
    assert np.abs(signal).max() == pytest.approx(TONE_AMPLITUDE, abs=0.05)


@pytest.mark.parametrize(
    "recording",
    [recording for recording in ALL if recording.format in ("mp4", "3gp")],
    ids=lambda recording: recording.name,
)
def test_moov_sits_where_the_line_says(
    recording: PhoneRecording, phone_recordings: dict[str, tuple[PhoneRecording, Path]]
) -> None:
    boxes = top_level_boxes(phone_recordings[recording.name][1].read_bytes())
    assert boxes[0] == b"ftyp"
    assert (boxes.index(b"moov") > boxes.index(b"mdat")) == recording.moov_at_end


def test_rifx_is_big_endian_pcm(phone_recordings: dict[str, tuple[PhoneRecording, Path]]) -> None:
    (recording,) = [recording for recording in PHONE_RECORDINGS if recording.format == "wav"]
    path = phone_recordings[recording.name][1]
    assert path.read_bytes()[:4] == b"RIFX"
    samples, rate = sf.read(path)
    assert (rate, samples.shape) == (recording.sample_rate, (recording.frames, 2))
    assert np.abs(samples).max(axis=0) == pytest.approx([TONE_AMPLITUDE] * 2, abs=1e-3)
    assert dominant_frequency(samples[:, 1], rate) == pytest.approx(TONE_FREQUENCIES[1], abs=2.0)


def test_video_mp4_has_a_video_and_an_audio_track(tmp_path: Path) -> None:
    path = write_video_mp4(tmp_path / "video.mp4")
    with av.open(str(path)) as container:
        kinds = sorted(stream.type for stream in container.streams)
    assert kinds == ["audio", "video"]


def test_broken_copies_differ_from_the_original(
    phone_recordings: dict[str, tuple[PhoneRecording, Path]],
) -> None:
    data = phone_recordings["aac-lc-48k-stereo.m4a"][1].read_bytes()
    copies = broken_copies(data)
    assert copies["truncated"] == data[: len(data) // 2]
    assert copies["head-100"] == data[:100]
    flipped = copies["flipped"]
    assert len(flipped) == len(data)
    assert sum(a != b for a, b in zip(flipped, data, strict=True)) == 200
