"""Audio and a bad file through the device API: a recording ends PROCESSED with the measurements
of the tone it holds, and a file that is not what it claims ends REJECTED with a reason."""

from __future__ import annotations

import math
from typing import Any

import pytest
import requests

from mediaflow.corpora.audio import sine_rms_dbfs
from tests.integration.conftest import TONE_PEAK, TONE_RATE, TONE_SECONDS

# A full-scale 1 kHz sine reads -3.01 LUFS (ITU-R BS.1770's reference); this one is 6 dB lower.
TONE_LUFS = -3.01 + 20 * math.log10(TONE_PEAK)


def test_a_recording_ends_processed_with_its_measurements(recordings: dict[str, Any]) -> None:
    record = recordings["tone.flac"]
    assert record["status"] == "PROCESSED", record
    assert (record["kind"], record["format"]) == ("audio", "flac")
    audio = record["audio"]

    assert audio["durationSeconds"] == pytest.approx(TONE_SECONDS, abs=0.01)
    assert (audio["sampleRate"], audio["channels"]) == (TONE_RATE, 1)
    assert audio["peakDbfs"] == pytest.approx(20 * math.log10(TONE_PEAK), abs=0.1)
    assert audio["rmsDbfs"] == pytest.approx(sine_rms_dbfs(TONE_PEAK), abs=0.1)
    assert audio["loudnessLufs"] == pytest.approx(TONE_LUFS, abs=1.0)
    waveform = requests.get(audio["waveformUrl"], timeout=30)
    assert waveform.status_code == 200 and waveform.content, waveform.text[:300]


def test_a_file_that_is_not_what_it_claims_is_rejected_with_a_reason(
    recordings: dict[str, Any],
) -> None:
    record = recordings["notes.wav"]
    assert record["status"] == "REJECTED", record
    # The sentence a person reads: what was wrong with the file.
    assert isinstance(record.get("reason"), str) and len(record["reason"]) > 10, record
