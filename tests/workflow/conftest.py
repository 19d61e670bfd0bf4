"""The embedded local cloud, built from template.yaml, for workflow tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mediaflow.corpora import audio, images
from mediaflow.localcloud import LocalCloud
from mediaflow.operations.stack import media_id

ROOT = Path(__file__).resolve().parents[2]

# Retry back-off runs 100 times faster, so that retry paths stay quick; nothing else changes.
CLOCK_FACTOR = 100.0


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(ROOT, clock_factor=CLOCK_FACTOR) as local_cloud:
        yield local_cloud


def photo_jpeg(width: int = 640, height: int = 480) -> bytes:
    """A camera photo as a device uploads it (mediaflow.corpora)."""
    return images.photo_jpeg(width, height, quality=85, gps=False)


def tone_wav(seconds: float = 1.0, rate: int = 48_000) -> bytes:
    """A 1 kHz tone at half of full scale, stereo 16-bit WAV (mediaflow.corpora)."""
    return audio.encoded(audio.sine(1000, amplitude=0.5, sample_rate=rate, channels=2), seconds)


def record_of(cloud: LocalCloud, key: str) -> dict[str, Any]:
    wanted = media_id(cloud.bucket, key)
    return next(record for record in cloud.records() if record["mediaId"] == wanted)


def execution_of(cloud: LocalCloud, record: dict[str, Any]) -> list[dict[str, Any]]:
    """The history of the execution that wrote the record."""
    return cloud.history(record["executionArn"])


def entered_states(history: list[dict[str, Any]]) -> list[str]:
    return [
        event["stateEnteredEventDetails"]["name"]
        for event in history
        if "stateEnteredEventDetails" in event
    ]


def event_of(cloud: LocalCloud, execution_arn: str) -> dict[str, Any]:
    return dict(json.loads(cloud.sfn.describe_execution(executionArn=execution_arn)["input"]))
