"""The real ingest workflow on the embedded local cloud, path by path.

Each test uploads media as a device would, lets the template's rule start the executions, and
asserts on the execution history and on what landed in S3, DynamoDB and SQS.
"""

from __future__ import annotations

import io
import json

import requests
from PIL import Image

from mediaflow.localcloud import LocalCloud
from mediaflow.localcloud.faults import Fault
from mediaflow.localcloud.rekognition import EMULATED_MODEL_VERSION
from tests.workflow.conftest import (
    entered_states,
    event_of,
    execution_of,
    photo_jpeg,
    record_of,
    tone_wav,
)

PAYLOAD_LIMIT = 256 * 1024


def assert_payloads_small(history: list[dict]) -> None:
    for event in history:
        for details in (value for key, value in event.items() if key.endswith("EventDetails")):
            for field in ("input", "output"):
                if field in details:
                    assert len(details[field].encode()) < PAYLOAD_LIMIT // 8, (event["type"], field)


def test_an_image_ends_processed_with_a_thumbnail_and_labels(cloud: LocalCloud) -> None:
    # Given a device uploads a photo
    key = "uploads/phone-1/holiday.jpg"
    version = cloud.upload(photo_jpeg(), key, content_type="image/jpeg")

    # When the workflow has run
    cloud.wait_until_settled()

    # Then the record describes this version, processed, with a thumbnail and labels
    record = record_of(cloud, key)
    assert record["status"] == "PROCESSED"
    assert record["versionId"] == version
    assert (record["kind"], record["format"], record["contentType"]) == (
        "image",
        "jpeg",
        "image/jpeg",
    )
    assert record["deviceId"] == "phone-1"
    image = record["image"]
    assert (image["width"], image["height"]) == (640, 480)
    assert image["labels"] and all(0 < label["confidence"] <= 100 for label in image["labels"])
    assert image["labelModelVersion"] == EMULATED_MODEL_VERSION
    thumbnail = Image.open(
        io.BytesIO(
            cloud.s3.get_object(Bucket=cloud.bucket, Key=image["thumbnailKey"])["Body"].read()
        )
    )
    assert thumbnail.format == "JPEG" and max(thumbnail.size) == 300
    assert image["thumbnailKey"].startswith("thumbnails/")

    history = execution_of(cloud, record)
    assert {
        "Inspect object",
        "Claim object",
        "Make thumbnail",
        "Detect labels",
        "Record image result",
        "Processed",
    } <= set(entered_states(history))
    assert history[-1]["type"] == "ExecutionSucceeded"
    assert_payloads_small(history)
    assert cloud.queue_messages(cloud.dlq_url) == []


def test_audio_ends_processed_with_its_measurements(cloud: LocalCloud) -> None:
    key = "uploads/recorder-7/tone.wav"
    cloud.upload(tone_wav(), key)

    cloud.wait_until_settled()

    record = record_of(cloud, key)
    assert record["status"] == "PROCESSED"
    audio = record["audio"]
    assert audio["sampleRate"] == 48_000 and audio["channels"] == 2
    assert abs(audio["durationSeconds"] - 1.0) < 0.01
    assert abs(audio["peakDbfs"] - (-6.02)) < 0.1  # 0.5 full scale
    assert abs(audio["rmsDbfs"] - (-9.03)) < 0.1  # a sine's RMS is 3.01 dB below its peak
    assert abs(audio["spectralCentroidHz"] - 1000) < 50
    waveform = cloud.s3.get_object(Bucket=cloud.bucket, Key=audio["waveformKey"])["Body"].read()
    assert waveform.startswith(b"\x89PNG")
    assert "Analyze audio" in entered_states(execution_of(cloud, record))


def test_an_unsupported_file_ends_rejected_with_a_reason(cloud: LocalCloud) -> None:
    key = "uploads/phone-1/invoice.jpg"  # the name lies: it is a PDF
    cloud.upload(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" * 20, key)

    cloud.wait_until_settled()

    record = record_of(cloud, key)
    assert record["status"] == "REJECTED"
    assert "not a supported" in record["reason"]
    states = entered_states(execution_of(cloud, record))
    assert "Record rejection" in states and "Make thumbnail" not in states
    assert cloud.queue_messages(cloud.dlq_url) == []


def test_the_same_event_twice_is_processed_once(cloud: LocalCloud) -> None:
    # Given an image was uploaded and processed
    key = "uploads/phone-1/twice.jpg"
    cloud.upload(photo_jpeg(), key)
    cloud.wait_until_settled()
    first = record_of(cloud, key)

    # When EventBridge delivers the same event again (at-least-once delivery)
    cloud.deliver(event_of(cloud, first["executionArn"]))
    cloud.wait_until_settled()

    # Then there is still one record, one thumbnail write and one Rekognition call
    records = [record for record in cloud.records() if record["key"] == key]
    assert len(records) == 1 and records[0]["executionArn"] == first["executionArn"]
    thumbnail_writes = list(cloud.object_versions(first["image"]["thumbnailKey"]))
    assert len(thumbnail_writes) == 1
    assert cloud.calls["rekognition:DetectLabels"] == 1
    assert cloud.calls["lambda:ThumbnailFunction"] == 1
    # and the second execution ended in the duplicate state
    executions = cloud.executions()
    assert len(executions) == 2
    second = cloud.history(executions[1]["executionArn"])
    assert entered_states(second)[-1] == "Skip duplicate"
    assert second[-1]["type"] == "ExecutionSucceeded"


def test_a_function_that_raises_gives_a_failed_record_and_one_dlq_message(
    cloud: LocalCloud,
) -> None:
    # Given the thumbnail function raises on every call
    cloud.faults.add(Fault("ThumbnailFunction", "RuntimeError", times=-1))
    key = "uploads/phone-1/broken.jpg"

    cloud.upload(photo_jpeg(), key)
    cloud.wait_until_settled()

    record = record_of(cloud, key)
    assert record["status"] == "FAILED"
    assert record["error"] == "RuntimeError"
    messages = cloud.queue_messages(cloud.dlq_url)
    assert len(messages) == 1
    body = json.loads(messages[0]["Body"])
    assert body["executionArn"] == record["executionArn"]
    assert body["error"] == "RuntimeError"
    assert body["event"]["detail"]["object"]["key"] == key
    assert body["event"] == event_of(cloud, record["executionArn"])
    assert cloud.sfn.describe_execution(executionArn=record["executionArn"])["status"] == "FAILED"
    states = entered_states(execution_of(cloud, record))
    # the failure path, in order (moto may log the other branch's last events after it)
    failure_path = [
        state for state in states if state in ("Record failure", "Send to DLQ", "Ingest failed")
    ]
    assert failure_path == ["Record failure", "Send to DLQ", "Ingest failed"]


def test_transient_lambda_errors_are_retried_and_shown_in_the_history(cloud: LocalCloud) -> None:
    cloud.faults.add(Fault("ThumbnailFunction", "Lambda.TooManyRequestsException", times=2))
    key = "uploads/phone-1/throttled.jpg"

    cloud.upload(photo_jpeg(), key)
    cloud.wait_until_settled()

    record = record_of(cloud, key)
    assert record["status"] == "PROCESSED"
    failures = [
        event["taskFailedEventDetails"]["error"]
        for event in execution_of(cloud, record)
        if event["type"] == "TaskFailed"
    ]
    assert failures == ["Lambda.TooManyRequestsException"] * 2
    assert cloud.queue_messages(cloud.dlq_url) == []


def test_writes_under_thumbnails_never_start_the_workflow(cloud: LocalCloud) -> None:
    cloud.upload(photo_jpeg(), "thumbnails/phone-1/not-an-upload.jpg")
    cloud.upload(photo_jpeg(), "elsewhere/phone-1/not-an-upload.jpg")
    cloud.wait_until_settled()
    assert cloud.executions() == []


def test_media_a_function_cannot_read_ends_rejected_not_failed(cloud: LocalCloud) -> None:
    # Given a JPEG whose header is fine but whose image data is cut off
    key = "uploads/phone-1/truncated.jpg"
    whole = photo_jpeg()
    cloud.upload(whole[: len(whole) // 3], key)

    cloud.wait_until_settled()

    record = record_of(cloud, key)
    assert record["status"] == "REJECTED", record
    assert record["reason"]
    assert "Record rejection" in entered_states(execution_of(cloud, record))
    assert cloud.queue_messages(cloud.dlq_url) == []


def test_a_presigned_post_starts_the_workflow_only_under_uploads(cloud: LocalCloud) -> None:
    def presigned_post(key: str) -> None:
        form = cloud.s3.generate_presigned_post(
            Bucket=cloud.bucket, Key=key, Conditions=[["content-length-range", 1, 10_000_000]]
        )
        response = requests.post(
            form["url"],
            data=form["fields"],
            files={"file": ("photo.jpg", photo_jpeg())},
            timeout=30,
        )
        assert response.status_code == 204, response.text

    # A device (or anyone holding a presigned form) writing under thumbnails/ starts nothing
    presigned_post("thumbnails/phone-1/forged.jpg")
    cloud.wait_until_settled()
    assert cloud.executions() == []

    # while the same form for uploads/ does
    presigned_post("uploads/phone-1/posted.jpg")
    cloud.wait_until_settled()
    assert record_of(cloud, "uploads/phone-1/posted.jpg")["status"] == "PROCESSED"
