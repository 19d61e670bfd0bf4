"""A duplicate delivery is processed once: the photo's event, started again as an operator's
replay does it, ends in *Skip duplicate* and leaves the record as it was; and nothing of the
run reached the dead-letter queue."""

from __future__ import annotations

from typing import Any

from mediaflow.devices.targets import Target
from tests.integration.conftest import Replay


def test_a_duplicate_delivery_is_skipped_and_the_record_kept(replay: Replay) -> None:
    assert replay.execution["status"] == "SUCCEEDED", replay.execution
    assert replay.states[-1] == "Skip duplicate", replay.states
    # Neither thumbnail nor record was made again.
    assert "Make thumbnail" not in replay.states
    assert replay.after == replay.before
    assert replay.after["status"]["S"] == "PROCESSED"


def test_the_dead_letter_queue_is_empty_afterwards(
    target: Target, image: dict[str, Any], recordings: dict[str, Any], replay: Replay
) -> None:
    # Requesting the fixtures makes every upload and the replay happen before this looks.
    queue = target.outputs["FailedEventsQueueUrl"]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]

    attributes = target.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=names)

    assert {name: attributes["Attributes"][name] for name in names} == dict.fromkeys(names, "0")
