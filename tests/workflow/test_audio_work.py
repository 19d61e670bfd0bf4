"""Audio within every other limit that AudioFunction could not analyse before its Timeout ends
REJECTED by Inspect, naming MaxAudioSamples; it never reaches the function to end FAILED."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import soundfile as sf

from mediaflow.localcloud import LocalCloud
from tests.workflow.conftest import CLOCK_FACTOR, entered_states, execution_of, record_of

ROOT = Path(__file__).resolve().parents[2]


def silent_flac(seconds: float, rate: int, channels: int, *, header_says: float = 0.0) -> bytes:
    """Silent FLAC; with `header_says`, its STREAMINFO counts that many seconds instead, as the
    header of a longer silent recording does (2 h of 8-channel 384 kHz silence is 23 MB)."""
    buffer = io.BytesIO()
    sf.write(
        buffer,
        np.zeros((round(seconds * rate), channels), dtype="int16"),
        rate,
        "PCM_16",
        format="FLAC",
    )
    data = bytearray(buffer.getvalue())
    if header_says:
        (packed,) = struct.unpack_from(">Q", data, 18)  # STREAMINFO: the low 36 bits count frames
        struct.pack_into(">Q", data, 18, packed & ~(2**36 - 1) | round(header_says * rate))
    return bytes(data)


def assert_rejected_before_analysis(cloud: LocalCloud, key: str, limit: str) -> None:
    records = [record for record in cloud.records() if record["key"] == key]
    assert len(records) == 1
    record = record_of(cloud, key)
    assert record["status"] == "REJECTED", record.get("error")
    assert record["reason"].startswith("audio is ")
    assert record["reason"].endswith(f"the limit is {limit}")
    states = entered_states(execution_of(cloud, record))
    assert "Record rejection" in states
    assert {"Analyze audio", "Record failure"}.isdisjoint(states)
    assert cloud.queue_messages(cloud.dlq_url) == []


def test_two_hours_of_8_channel_384_khz_flac_ends_rejected(cloud: LocalCloud) -> None:
    # Given a recording within MaxAudioBytes, MaxAudioSeconds (7200) and the function's 8
    # channels at up to 768 kHz, which would take AudioFunction longer than its Timeout
    key = "uploads/bat-array-1/night.flac"
    cloud.upload(silent_flac(1.0, 384_000, 8, header_says=7200.0), key)

    # When the workflow has run
    cloud.wait_until_settled()

    # Then Inspect refused it, naming the limit, and nothing failed
    assert_rejected_before_analysis(cloud, key, "MaxAudioSamples=3000000000")
    assert (
        "22118400000 samples (7200 s x 384000 Hz x 8 channels)" in record_of(cloud, key)["reason"]
    )


def test_the_limit_follows_the_template_parameter() -> None:
    with LocalCloud(
        ROOT, parameter_overrides={"MaxAudioSamples": "1000000"}, clock_factor=CLOCK_FACTOR
    ) as cloud:
        over, within = "uploads/recorder-2/long.flac", "uploads/recorder-2/short.flac"
        cloud.upload(silent_flac(12.0, 48_000, 2), over)  # 1152000 samples
        cloud.upload(silent_flac(5.0, 48_000, 2), within)  # 480000 samples

        cloud.wait_until_settled()

        assert_rejected_before_analysis(cloud, over, "MaxAudioSamples=1000000")
        assert record_of(cloud, within)["status"] == "PROCESSED"
