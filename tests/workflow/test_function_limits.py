"""A function that needs more memory than its MemorySize, or more time than its Timeout, ends as
Lambda ends it, and the upload ends FAILED with Lambda's error name: one record, one DLQ message.

Each test runs the project with one function's limit lowered in a copy of template.yaml (the
code, layers and workflow are the project's own), and uploads real media that needs more.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import yaml
from PIL import Image

from mediaflow.localcloud import LocalCloud
from mediaflow.localcloud.template import load_template
from tests.workflow.conftest import CLOCK_FACTOR, ROOT, photo_jpeg, record_of


def project_with(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of the project whose template has `change` applied."""
    template = load_template(ROOT / "template.yaml")
    change(template["Resources"])
    for folder in ("functions", "layers", "statemachines", "events", "samples"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    (tmp_path / "template.yaml").write_text(yaml.safe_dump(template, sort_keys=False))
    return tmp_path


def assert_failed_once_with(cloud: LocalCloud, key: str, error: str) -> None:
    record = record_of(cloud, key)
    assert (record["status"], record["error"]) == ("FAILED", error)
    messages = cloud.queue_messages(cloud.dlq_url)
    assert len(messages) == 1
    body = json.loads(messages[0]["Body"])
    assert (body["executionArn"], body["error"]) == (record["executionArn"], error)


def test_a_thumbnail_that_needs_more_than_its_memory_size_ends_failed(tmp_path: Path) -> None:
    # Given ThumbnailFunction with 128 MB, and a 36-megapixel PNG (108 MB decoded) within every
    # limit Inspect applies
    def small_thumbnail_function(resources: dict[str, Any]) -> None:
        resources["ThumbnailFunction"]["Properties"]["MemorySize"] = 128

    ramp = np.linspace(0, 255, 6000, dtype=np.uint8)
    pixels = np.stack(np.broadcast_arrays(ramp[None, :], ramp[:, None], 128), axis=-1)
    png = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(png, "PNG", compress_level=1)
    key = "uploads/camera-4/panorama.png"

    with LocalCloud(
        project_with(tmp_path, small_thumbnail_function), clock_factor=CLOCK_FACTOR
    ) as cloud:
        # When it is uploaded
        cloud.upload(png.getvalue(), key)
        cloud.wait_until_settled()

        # Then Lambda's out-of-memory end fails the upload, once
        assert_failed_once_with(cloud, key, "Runtime.OutOfMemory")


def test_an_analysis_that_runs_past_its_timeout_ends_failed(tmp_path: Path) -> None:
    # Given AudioFunction with a Timeout of 1 s, and half an hour of stereo 48 kHz FLAC (silent,
    # so it is small) that takes longer than that to measure
    def short_audio_timeout(resources: dict[str, Any]) -> None:
        resources["AudioFunction"]["Properties"]["Timeout"] = 1

    flac = io.BytesIO()
    with sf.SoundFile(flac, "w", 48_000, 2, format="FLAC", subtype="PCM_16") as recording:
        silence = np.zeros((48_000 * 60, 2), dtype=np.int16)
        for _ in range(30):
            recording.write(silence)
    key = "uploads/recorder-5/night.flac"

    with LocalCloud(
        project_with(tmp_path, short_audio_timeout), clock_factor=CLOCK_FACTOR
    ) as cloud:
        # When it is uploaded
        cloud.upload(flac.getvalue(), key)
        cloud.wait_until_settled()

        # Then Lambda's timeout fails the upload, once
        assert_failed_once_with(cloud, key, "Sandbox.Timedout")


def test_a_function_that_cannot_start_fails_the_upload_once(tmp_path: Path) -> None:
    # Given ThumbnailFunction's environment holds a size it cannot read: its init fails on every
    # cold start, as on Lambda
    def unreadable_thumbnail_size(resources: dict[str, Any]) -> None:
        variables = resources["ThumbnailFunction"]["Properties"]["Environment"]["Variables"]
        variables["THUMBNAIL_SIZE"] = "abc"

    key = "uploads/camera-4/door.jpg"
    with LocalCloud(
        project_with(tmp_path, unreadable_thumbnail_size), clock_factor=CLOCK_FACTOR
    ) as cloud:
        # When a photo is uploaded
        cloud.upload(photo_jpeg(), key)
        cloud.wait_until_settled()

        # Then the upload ends FAILED with the error the handler's import raised, once
        assert_failed_once_with(cloud, key, "InvalidSetting")
        assert "THUMBNAIL_SIZE" in record_of(cloud, key)["cause"]
