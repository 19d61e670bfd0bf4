"""S3 delivers events at least once and out of order: the newest upload of a key always wins.

The `sequencer` of each event decides (zero-padded, so that string order is event order); a
stale execution can neither claim the object nor write its result.
"""

from __future__ import annotations

from typing import Any

from mediaflow.localcloud import LocalCloud
from mediaflow.operations.stack import media_id
from tests.workflow.conftest import entered_states, photo_jpeg, record_of

KEY = "uploads/camera-3/door.jpg"


def upload_two_versions(cloud: LocalCloud) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    """Two uploads of one key, their events held back: (old version, new version, events)."""
    cloud.hold_deliveries()
    old = cloud.upload(photo_jpeg(640, 480), KEY)
    new = cloud.upload(photo_jpeg(800, 600), KEY)
    old_event, new_event = cloud.hold_deliveries()
    assert old_event["detail"]["object"]["version-id"] == old
    assert old_event["detail"]["object"]["sequencer"] < new_event["detail"]["object"]["sequencer"]
    return old, new, old_event, new_event


def test_an_older_event_delivered_last_does_not_overwrite_the_newer_record(
    cloud: LocalCloud,
) -> None:
    _, new, old_event, new_event = upload_two_versions(cloud)

    # When the newer event arrives first and the older one after it
    cloud.deliver(new_event)
    cloud.wait_until_settled()
    cloud.deliver(old_event)
    cloud.wait_until_settled()

    # Then the record describes the newest version
    record = record_of(cloud, KEY)
    assert (record["status"], record["versionId"]) == ("PROCESSED", new)
    assert (record["image"]["width"], record["image"]["height"]) == (800, 600)
    # and the older event's execution could not claim the object
    older_execution = cloud.executions()[-1]["executionArn"]
    assert entered_states(cloud.history(older_execution))[-1] == "Skip duplicate"
    assert cloud.calls["lambda:ThumbnailFunction"] == 1


def test_a_stale_execution_cannot_write_its_result(cloud: LocalCloud) -> None:
    old, new, old_event, new_event = upload_two_versions(cloud)
    record_id = media_id(cloud.bucket, KEY)

    # Given the older upload's execution is making its thumbnail when the newer one overtakes it
    def newer_upload_processed() -> bool:
        item = cloud.dynamodb.get_item(
            TableName=cloud.table, Key={"mediaId": {"S": record_id}}, ConsistentRead=True
        ).get("Item", {})
        return bool(
            item.get("versionId", {}).get("S") == new and item["status"]["S"] == "PROCESSED"
        )

    def let_the_newer_upload_overtake(event: dict[str, Any]) -> None:
        if event["versionId"] != old:
            return
        cloud.deliver(new_event)
        cloud.wait_until(newer_upload_processed, timeout=60)

    cloud.before_invoke("ThumbnailFunction", let_the_newer_upload_overtake)

    # When the older event is delivered first
    cloud.deliver(old_event)
    cloud.wait_until_settled()

    # Then the newer version's record stands, and the stale execution ended superseded
    record = record_of(cloud, KEY)
    assert (record["status"], record["versionId"]) == ("PROCESSED", new)
    stale = next(
        execution["executionArn"]
        for execution in cloud.executions()
        if execution["executionArn"] != record["executionArn"]
    )
    assert entered_states(cloud.history(stale))[-1] == "Skip superseded execution"
    assert cloud.queue_messages(cloud.dlq_url) == []
