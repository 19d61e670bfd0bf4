"""Keys that name no device, or one outside the device id rule, on the real workflow.

DynamoDB refuses an empty string in an index key (DeviceIndex's `deviceId`), so such an upload
once ended FAILED, in the dead-letter queue, and failed again on every redrive. It is REJECTED:
one record with a reason a person can read, and nothing in the queue.
"""

from __future__ import annotations

import pytest

from mediaflow.corpora import images
from mediaflow.localcloud import LocalCloud
from tests.workflow.conftest import entered_states, execution_of, record_of

RULE = "a device id is 1 to 128 letters, digits, '-', '_' or '.', starting with a letter or digit"


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (
            "uploads//photo.jpg",
            "key must be uploads/<device-id>/<file name> (got 'uploads//photo.jpg')",
        ),
        (
            "uploads/tablet 2+/photo.jpg",
            f"device id 'tablet 2+' has the character ' '; {RULE}",
        ),
    ],
    ids=["empty-device", "space-and-plus"],
)
def test_a_key_without_an_acceptable_device_ends_rejected(
    cloud: LocalCloud, key: str, reason: str
) -> None:
    # Given a photo uploaded under a key whose device segment no device can have
    cloud.upload(images.photo_jpeg(320, 240), key, content_type="image/jpeg")

    # When the workflow has run
    cloud.wait_until_settled()

    # Then it has one record, REJECTED with the reason, listed under no device
    records = [record for record in cloud.records() if record["key"] == key]
    assert len(records) == 1
    record = record_of(cloud, key)
    assert (record["status"], record.get("reason")) == ("REJECTED", reason)
    assert (record["deviceId"], record["format"]) == ("(none)", "jpeg")
    history = execution_of(cloud, record)
    assert {"Inspect object", "Claim object", "Record rejection"} <= set(entered_states(history))
    assert "Record failure" not in entered_states(history)
    assert cloud.queue_messages(cloud.dlq_url) == []
