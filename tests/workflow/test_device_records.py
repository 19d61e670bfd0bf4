"""The record the HTTP API and the workflow share: what a device's upload carries into it (the
SHA-256 S3 checked, the time the device captured it), the UPLOADING record the API writes before
the upload, and the tombstone DELETE /media leaves, which no execution brings back.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from mediaflow.localcloud import LocalCloud
from mediaflow.localcloud.faults import FOREVER, Fault
from mediaflow.operations.stack import media_id
from tests.workflow.conftest import entered_states, photo_jpeg, record_of, tone_wav

KEY = "uploads/phone-4/01HXZ8Q4N6Y2V3W8K5T0R9M1CD.jpg"
AUDIO_KEY = "uploads/recorder-6/01HXZ8Q4N6Y2V3W8K5T0R9M1CE.wav"
CAPTURED_AT = "2024-05-01T12:00:00.250+02:00"


def upload_with_checksum(
    cloud: LocalCloud, data: bytes, key: str, metadata: dict[str, str] | None = None
) -> str:
    """Put an object as a presigned POST of the HTTP API does: with its SHA-256 for S3 to check."""
    response = cloud.s3.put_object(
        Bucket=cloud.bucket,
        Key=key,
        Body=data,
        ChecksumAlgorithm="SHA256",
        Metadata=metadata or {},
    )
    return str(response["VersionId"])


def put_record(cloud: LocalCloud, item: dict[str, Any]) -> None:
    cloud.dynamodb.put_item(TableName=cloud.table, Item=item)


def uploading_record(cloud: LocalCloud, key: str) -> dict[str, Any]:
    """The record POST /uploads writes before the device uploads (docs/contracts.md)."""
    return {
        "mediaId": {"S": media_id(cloud.bucket, key)},
        "deviceId": {"S": key.split("/")[1]},
        "key": {"S": key},
        "status": {"S": "UPLOADING"},
        "fileName": {"S": "IMG_0042.jpg"},
        "uploadedAt": {"S": "2024-05-01T11:59:00Z"},
        "expiresAt": {"S": "2024-05-01T12:14:00Z"},
        "ttl": {"N": "1714566840"},
    }


def tombstone(cloud: LocalCloud, key: str) -> dict[str, Any]:
    """The record DELETE /media leaves (docs/contracts.md)."""
    return {
        "mediaId": {"S": media_id(cloud.bucket, key)},
        "status": {"S": "DELETED"},
        "deletedAt": {"S": "2024-05-01T12:30:00Z"},
        "executionArn": {"S": "deleted"},
        "ttl": {"N": "1717172000"},
    }


def stored_record(cloud: LocalCloud, key: str) -> dict[str, Any]:
    return dict(
        cloud.dynamodb.get_item(
            TableName=cloud.table,
            Key={"mediaId": {"S": media_id(cloud.bucket, key)}},
            ConsistentRead=True,
        )["Item"]
    )


def delete_media(cloud: LocalCloud, key: str) -> None:
    """What DELETE /media does: every version of the original goes, then the tombstone stays."""
    for version in list(cloud.object_versions(key)):
        cloud.s3.delete_object(Bucket=cloud.bucket, Key=key, VersionId=version["VersionId"])
    put_record(cloud, tombstone(cloud, key))


# -- what the upload carries into the record ----------------------------------------------------


def test_the_sha256_s3_checked_and_the_capture_time_land_in_the_record(
    cloud: LocalCloud,
) -> None:
    photo = photo_jpeg()

    upload_with_checksum(cloud, photo, KEY, {"captured-at": CAPTURED_AT})
    cloud.wait_until_settled()

    record = record_of(cloud, KEY)
    assert record["status"] == "PROCESSED"
    assert record["sha256"] == hashlib.sha256(photo).hexdigest()
    assert record["capturedAt"] == CAPTURED_AT


def test_an_upload_without_them_records_empty_strings(cloud: LocalCloud) -> None:
    cloud.upload(tone_wav(), AUDIO_KEY)
    cloud.wait_until_settled()

    record = record_of(cloud, AUDIO_KEY)
    assert record["status"] == "PROCESSED"
    assert (record["sha256"], record["capturedAt"]) == ("", "")


def test_a_capture_time_that_is_no_date_time_is_rejected_with_the_reason(
    cloud: LocalCloud,
) -> None:
    upload_with_checksum(cloud, photo_jpeg(), KEY, {"captured-at": "last tuesday"})
    cloud.wait_until_settled()

    record = record_of(cloud, KEY)
    assert record["status"] == "REJECTED"
    assert "captured-at is 'last tuesday', not an RFC 3339 date-time" in record["reason"]


# -- the record the HTTP API wrote before the upload -------------------------------------------


def test_the_claim_takes_over_the_uploading_record_which_then_never_expires(
    cloud: LocalCloud,
) -> None:
    put_record(cloud, uploading_record(cloud, KEY))

    upload_with_checksum(cloud, photo_jpeg(), KEY, {"captured-at": CAPTURED_AT})
    cloud.wait_until_settled()

    record = record_of(cloud, KEY)
    assert (record["status"], record["deviceId"]) == ("PROCESSED", "phone-4")
    assert record["capturedAt"] == CAPTURED_AT
    assert not {"ttl", "expiresAt"} & set(record)


def test_an_inspection_that_fails_fails_the_uploading_record_for_good(cloud: LocalCloud) -> None:
    # Given the API announced the upload, and Inspect fails on it
    put_record(cloud, uploading_record(cloud, KEY))
    cloud.faults.add(Fault("InspectFunction", "RuntimeError", FOREVER))

    upload_with_checksum(cloud, photo_jpeg(), KEY)
    cloud.wait_until_settled()

    # Then the record says FAILED and stays (no ttl), and the event waits in the DLQ
    record = record_of(cloud, KEY)
    assert (record["status"], record["error"]) == ("FAILED", "RuntimeError")
    assert "ttl" not in record
    assert len(cloud.queue_messages(cloud.dlq_url)) == 1


# -- DELETE /media while the execution runs ----------------------------------------------------


@pytest.mark.parametrize(
    ("function", "key", "data", "objects_gone", "refused_write"),
    [
        # the original and the record go while the thumbnail is made: the thumbnail cannot read
        # the original, and Record failure is refused
        ("ThumbnailFunction", KEY, photo_jpeg(), True, "Record failure"),
        # the tombstone is written while the analysis runs on what it read: Record audio result
        # is refused
        ("AudioFunction", AUDIO_KEY, tone_wav(), False, "Record audio result"),
    ],
    ids=["while-thumbnailing", "while-analysing"],
)
def test_an_execution_whose_media_is_deleted_ends_superseded_and_the_tombstone_stands(
    cloud: LocalCloud,
    function: str,
    key: str,
    data: bytes,
    objects_gone: bool,
    refused_write: str,
) -> None:
    # Given the device deletes its media while the execution is at work on it
    def delete_it(event: dict[str, Any]) -> None:
        if objects_gone:
            delete_media(cloud, key)
        else:
            put_record(cloud, tombstone(cloud, key))

    cloud.before_invoke(function, delete_it)

    upload_with_checksum(cloud, data, key)
    cloud.wait_until_settled()

    # Then the execution ended superseded, after its write was refused
    (execution,) = cloud.executions()
    assert execution["status"] == "SUCCEEDED"
    states = entered_states(cloud.history(execution["executionArn"]))
    assert states[-2:] == [refused_write, "Skip superseded execution"]
    assert "Send to DLQ" not in states
    # and the tombstone stands, with nothing in the dead-letter queue
    assert stored_record(cloud, key) == tombstone(cloud, key)
    assert cloud.queue_messages(cloud.dlq_url) == []


def test_an_event_that_arrives_after_the_delete_leaves_the_tombstone(cloud: LocalCloud) -> None:
    # Given the upload's event is held back until the media was deleted
    cloud.hold_deliveries()
    upload_with_checksum(cloud, photo_jpeg(), KEY)
    (event,) = cloud.hold_deliveries()
    delete_media(cloud, KEY)

    # When it is delivered, Inspect finds no object
    cloud.deliver(event)
    cloud.wait_until_settled()

    # Then the execution ends superseded and the tombstone stands
    (execution,) = cloud.executions()
    states = entered_states(cloud.history(execution["executionArn"]))
    assert states[-3:] == ["Inspect object", "Record failure", "Skip superseded execution"]
    assert stored_record(cloud, KEY) == tombstone(cloud, KEY)
    assert cloud.queue_messages(cloud.dlq_url) == []


def test_an_older_upload_that_fails_after_a_newer_one_ended_is_superseded_not_dead_lettered(
    cloud: LocalCloud,
) -> None:
    # A refused Record failure is no failure of the pipeline, whoever owns the record: here the
    # newer upload of the key, whose outcome is recorded.
    cloud.hold_deliveries()
    cloud.upload(photo_jpeg(640, 480), KEY)
    cloud.upload(photo_jpeg(800, 600), KEY)
    older, newer = cloud.hold_deliveries()
    cloud.deliver(newer)
    cloud.wait_until_settled()

    # When the older event arrives last and its inspection fails
    cloud.faults.add(Fault("InspectFunction", "RuntimeError"))
    cloud.deliver(older)
    cloud.wait_until_settled()

    # Then the newer upload's record stands, and the older execution ended superseded
    record = record_of(cloud, KEY)
    assert (record["status"], record["image"]["width"]) == ("PROCESSED", 800)
    stale = cloud.executions()[-1]["executionArn"]
    assert stale != record["executionArn"]
    assert entered_states(cloud.history(stale))[-2:] == [
        "Record failure",
        "Skip superseded execution",
    ]
    assert cloud.queue_messages(cloud.dlq_url) == []
