"""Services throttle and Lambdas time out: transient faults are absorbed by the workflow's
retries (and show in the history); permanent ones end in one FAILED record and one DLQ message.
"""

from __future__ import annotations

import json

import pytest

from mediaflow.localcloud import LocalCloud
from mediaflow.localcloud.faults import FOREVER, Fault
from tests.workflow.conftest import execution_of, record_of
from tests.workflow.test_ingest import photo_jpeg

KEY = "uploads/phone-9/faulty.jpg"


def failed_tasks(cloud: LocalCloud, record: dict) -> list[str]:
    return [
        event["taskFailedEventDetails"]["error"]
        for event in execution_of(cloud, record)
        if event["type"] == "TaskFailed"
    ]


@pytest.mark.parametrize(
    ("target", "error", "times"),
    [
        ("InspectFunction", "Lambda.TooManyRequestsException", 3),
        ("ThumbnailFunction", "Lambda.ServiceException", 2),
        ("ThumbnailFunction", "Sandbox.Timedout", 1),
        ("rekognition:DetectLabels", "Rekognition.ThrottlingException", 3),
        ("dynamodb:PutItem", "DynamoDB.ProvisionedThroughputExceededException", 2),
        ("dynamodb:UpdateItem", "DynamoDB.ThrottlingException", 1),
    ],
)
def test_a_transient_fault_is_absorbed_by_the_retries(
    cloud: LocalCloud, target: str, error: str, times: int
) -> None:
    cloud.faults.add(Fault(target, error, times))

    cloud.upload(photo_jpeg(), KEY)
    cloud.wait_until_settled()

    record = record_of(cloud, KEY)
    assert record["status"] == "PROCESSED"
    assert failed_tasks(cloud, record) == [error] * times
    assert cloud.faults.injected == {f"{target}={error}": times}
    assert cloud.queue_messages(cloud.dlq_url) == []


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("ThumbnailFunction", "Lambda.ServiceException"),
        ("AudioFunction", "Sandbox.Timedout"),
        ("InspectFunction", "Lambda.TooManyRequestsException"),
    ],
)
def test_a_permanent_fault_ends_in_one_failed_record_and_one_dlq_message(
    cloud: LocalCloud, target: str, error: str
) -> None:
    from tests.workflow.test_ingest import tone_wav

    cloud.faults.add(Fault(target, error, FOREVER))
    key = "uploads/recorder-2/always.wav" if target == "AudioFunction" else KEY

    cloud.upload(tone_wav() if target == "AudioFunction" else photo_jpeg(), key)
    cloud.wait_until_settled()

    record = record_of(cloud, key)
    assert (record["status"], record["error"]) == ("FAILED", error)
    retried = failed_tasks(cloud, record)
    assert len(retried) > 1 and set(retried) == {error}
    messages = cloud.queue_messages(cloud.dlq_url)
    assert len(messages) == 1
    body = json.loads(messages[0]["Body"])
    assert body["executionArn"] == record["executionArn"] and body["error"] == error


def test_an_event_whose_execution_cannot_start_lands_in_the_rules_dead_letter_queue(
    cloud: LocalCloud,
) -> None:
    cloud.faults.add(Fault("events:StartExecution", "States.ExecutionLimitExceeded"))

    cloud.upload(photo_jpeg(), KEY)
    cloud.wait_until_settled()

    assert cloud.executions() == []
    (message,) = cloud.queue_messages(cloud.rule_dlq_url or "")
    assert json.loads(message["Body"])["detail"]["object"]["key"] == KEY
    attributes = message["MessageAttributes"]
    assert attributes["RULE_ARN"]["StringValue"].endswith(
        ":rule/mediaflow-ingest-state-machine-object-created-local"
    )
    assert "ExecutionLimitExceeded" in attributes["ERROR_MESSAGE"]["StringValue"]
