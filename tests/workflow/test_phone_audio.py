"""Audio as phones and recorders write it, through the whole workflow on the local cloud: AAC,
HE-AACv2, ALAC and AMR in M4A, 3GP, ADTS, CAF and AMR files, and big-endian RIFX WAV.

Each recording ends PROCESSED with its measurements and its waveform; damaged copies and an MP4
with a video track end REJECTED with a reason; nothing ends FAILED. The measurements themselves
are checked against a reference decode in tests/unit/test_audio_ffmpeg.py; here, that what the
record says is what the recording is.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from mediakit.audio_containers import adts_frame_length

from mediaflow.corpora.phone_audio import (
    TONE_AMPLITUDE,
    PhoneRecording,
    broken_copies,
    write_video_mp4,
)
from mediaflow.localcloud import LocalCloud
from tests.workflow.conftest import CLOCK_FACTOR, record_of

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "uploads/field-recorder-9/"
TONE_PEAK_DBFS = 20 * math.log10(TONE_AMPLITUDE)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _settled_records(
    uploads: dict[str, bytes],
) -> tuple[dict[str, dict[str, Any]], dict[str, bytes]]:
    """The record of every upload, and the waveform PNG of each PROCESSED one, by name."""
    with LocalCloud(ROOT, clock_factor=CLOCK_FACTOR, max_concurrent_executions=6) as cloud:
        for name, content in uploads.items():
            cloud.upload(content, PREFIX + name)
        cloud.wait_until_settled(timeout=600)
        records = {name: record_of(cloud, PREFIX + name) for name in uploads}
        waveforms = {
            name: cloud.s3.get_object(Bucket=cloud.bucket, Key=record["audio"]["waveformKey"])[
                "Body"
            ].read()
            for name, record in records.items()
            if record["status"] == "PROCESSED"
        }
    return records, waveforms


def _still_whole(recording: PhoneRecording, content: bytes) -> bool:
    """Whether a damaged copy is still a whole recording, only shorter or different: PCM WAV
    is measured as far as its samples go (a recorder that lost power) and has no structure to
    break, and a raw ADTS stream cut where a frame starts is a complete, shorter stream."""
    if recording.codec == "pcm":
        return True
    if recording.format != "aac":
        return False
    start = 0
    while (length := adts_frame_length(content, start)) > 0 and start + length < len(content):
        start += length
    return start + length == len(content)


def _problems(recording: PhoneRecording, record: dict[str, Any], waveform: bytes) -> list[str]:
    """What the record of `recording` gets wrong, in words (empty when nothing)."""
    if record["status"] != "PROCESSED":
        return [f"{record['status']}: {record.get('reason') or record.get('error')}"]
    audio = record["audio"]
    problems = []
    if record["format"] != recording.format:
        problems.append(f"format {record['format']!r}, not {recording.format!r}")
    if (audio["sampleRate"], audio["channels"]) != (recording.sample_rate, recording.channels):
        problems.append(f"{audio['sampleRate']} Hz x {audio['channels']}")
    # The tolerance: 1 % plus the codec's priming frames.
    allowed = 0.01 * recording.seconds + recording.priming_frames / recording.sample_rate
    if abs(audio["durationSeconds"] - recording.seconds) > allowed + 1e-3:
        problems.append(f"{audio['durationSeconds']} s, not {recording.seconds:.3f} s")
    if recording.tones and abs(audio["peakDbfs"] - TONE_PEAK_DBFS) > 1.0:
        problems.append(f"peak {audio['peakDbfs']} dBFS, not about {TONE_PEAK_DBFS:.2f}")
    if not waveform.startswith(PNG_SIGNATURE):
        problems.append("the waveform is not a PNG")
    return problems


@pytest.mark.slow
def test_phone_and_recorder_audio_through_the_workflow(
    phone_recordings: dict[str, tuple[PhoneRecording, Path]], tmp_path: Path
) -> None:
    uploads = {name: path.read_bytes() for name, (_, path) in phone_recordings.items()}
    damaged = {
        f"{damage}-{name}": content
        for name, (recording, path) in phone_recordings.items()
        for damage, content in broken_copies(path.read_bytes()).items()
        if not _still_whole(recording, content)
    }
    video = write_video_mp4(tmp_path / "camera.mp4").read_bytes()
    records, waveforms = _settled_records(uploads | damaged | {"camera.mp4": video})

    wrong = {
        name: problems
        for name, (recording, _) in phone_recordings.items()
        if (problems := _problems(recording, records[name], waveforms.get(name, b"")))
    }
    assert wrong == {}
    not_rejected = {
        name: (records[name]["status"], records[name].get("audio", {}).get("durationSeconds"))
        for name in damaged
        if records[name]["status"] != "REJECTED" or not records[name]["reason"]
    }
    assert not_rejected == {}
    assert records["camera.mp4"]["status"] == "REJECTED"
    assert "video" in records["camera.mp4"]["reason"]
