"""Hostile uploads through the whole workflow on the local cloud (mediaflow/synthetic/hostile.py).

Every file ends REJECTED, by the step the corpus names and with its reason; none ends FAILED,
nothing reaches a dead-letter queue, no function runs out of time, and the cloud goes on to
process a good photo afterwards. The files are uploaded under keys that break naive handling:
spaces, '+', '%', emoji, bidirectional overrides, combining marks, 1024 bytes of UTF-8, and
keys that URL-decode to the key of another object.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mediaflow.corpora import images
from mediaflow.corpora.hostile import HostileFile, awkward_key, hostile_files
from mediaflow.localcloud import LocalCloud
from tests.workflow.conftest import CLOCK_FACTOR, entered_states, record_of

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "uploads/hostile-device/"

# The states each step's refusal passes through; a rejection by Inspect passes none. The
# thumbnail function refuses an image Rekognition cannot read at its first call, the rendition.
REFUSING_STATES = {
    "thumbnail": ("Make label rendition", "Make thumbnail"),
    "audio": ("Analyze audio",),
}


def failed_tasks(history: list[dict[str, Any]]) -> list[str]:
    """The error names of the tasks that failed in an execution (Lambda answers included)."""
    return [
        event[key]["error"]
        for event in history
        for key in ("taskFailedEventDetails", "lambdaFunctionFailedEventDetails")
        if key in event
    ]


def mismatch(cloud: LocalCloud, key: str, case: HostileFile) -> dict[str, Any]:
    """What is wrong with how the upload under `key` ended; {} when nothing is."""
    record = record_of(cloud, key)
    wrong: dict[str, Any] = {}
    if record["status"] != "REJECTED":
        wrong["status"] = (record["status"], record.get("error"), record.get("cause"))
    if case.expected_reason_fragment not in record.get("reason", ""):
        wrong["reason"] = record.get("reason")
    if record["key"] != key:
        wrong["key"] = record["key"]  # the record describes another object
    history = cloud.history(record["executionArn"])
    states = set(entered_states(history))
    refused_by = next(
        (stage for stage, names in REFUSING_STATES.items() if states.intersection(names)), None
    )
    if (refused_by or "inspect") != case.rejected_by:
        wrong["refused by"] = refused_by or "inspect"
    if refused_by and "Read the media error" not in states:
        wrong["states"] = sorted(states)
    # Any failed task is a function that raised something other than a media error, or
    # ran out of time (Sandbox.Timedout, retried once before the execution gives up).
    other = [error for error in failed_tasks(history) if error not in REFUSED_AS_MEDIA]
    if other:
        wrong["task errors"] = other
    # (Not the last event: moto may log the other parallel branch's end after the execution's.)
    ends = [event["type"] for event in history if event["type"].startswith("Execution")]
    if ends != ["ExecutionStarted", "ExecutionSucceeded"]:
        wrong["execution"] = ends
    return wrong


REFUSED_AS_MEDIA = {
    "UnsupportedMediaType", "MediaTooLarge", "CorruptMedia",
    # Detect labels on an original that Amazon Rekognition cannot read: caught, no labels
    "Rekognition.InvalidImageFormatException", "Rekognition.ImageTooLargeException",
    "Rekognition.InvalidParameterException",
}  # fmt: skip


@pytest.mark.slow
def test_every_hostile_upload_ends_rejected_and_the_cloud_carries_on() -> None:
    cases = hostile_files()
    by_name = {case.name: case for case in cases}
    with LocalCloud(ROOT, clock_factor=CLOCK_FACTOR, max_concurrent_executions=6) as cloud:
        # Given a good photo whose key two other keys URL-decode to ('+' and '%20' are spaces)
        twin = f"{PREFIX}twin photo.jpg"
        cloud.upload(images.photo_jpeg(320, 240), twin, content_type="image/jpeg")
        cloud.wait_until_settled()

        # When every hostile file is uploaded, each under an awkward key, and two more under
        # the look-alikes of the good photo's key
        uploads = {awkward_key(index, case.name, PREFIX): case for index, case in enumerate(cases)}
        uploads[f"{PREFIX}twin+photo.jpg"] = by_name["invoice.jpg"]
        uploads[f"{PREFIX}twin%20photo.jpg"] = by_name["one-byte.png"]
        for key, case in uploads.items():
            # The declared type lies as the name does: it must change nothing
            cloud.upload(case.content, key, content_type="image/jpeg")
        cloud.wait_until_settled(timeout=300)
        mismatches = {
            key: wrong for key, case in uploads.items() if (wrong := mismatch(cloud, key, case))
        }

        # And then a good photo is uploaded
        after = f"{PREFIX}after the storm.jpg"
        cloud.upload(images.photo_jpeg(640, 480), after, content_type="image/jpeg")
        cloud.wait_until_settled()

        # Then every hostile file ended REJECTED, by its step, with its reason, and no other
        assert mismatches == {}
        records = cloud.records()
        assert len(records) == len(uploads) + 2
        assert "FAILED" not in {record["status"] for record in records}
        # Nothing was dead-lettered, by the workflow or by the rule
        assert cloud.queue_messages(cloud.dlq_url) == []
        if cloud.rule_dlq_url:
            assert cloud.queue_messages(cloud.rule_dlq_url) == []
        assert {execution["status"] for execution in cloud.executions()} == {"SUCCEEDED"}
        # And the photos next to them were processed as themselves
        for key in (twin, after):
            record = record_of(cloud, key)
            assert (record["status"], record["key"]) == ("PROCESSED", key), json.dumps(record)
            thumbnail = record["image"]["thumbnailKey"]
            assert cloud.s3.head_object(Bucket=cloud.bucket, Key=thumbnail)["ContentLength"] > 0
