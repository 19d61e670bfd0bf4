"""Services throttle and Lambdas time out: transient faults are absorbed by the workflow's
retries (and show in the history); permanent ones end in one FAILED record and one DLQ message.
Every fault is one AWS reports for that call (mediaflow/localcloud/aws_errors.py).
"""

from __future__ import annotations

import json

import pytest

from mediaflow.localcloud import LocalCloud
from mediaflow.localcloud.faults import FOREVER, Fault
from tests.workflow.conftest import execution_of, photo_jpeg, record_of, tone_wav

KEY = "uploads/phone-9/faulty.jpg"
AUDIO_KEY = "uploads/recorder-2/always.wav"


def failed_tasks(cloud: LocalCloud, record: dict) -> list[str]:
    return [
        event["taskFailedEventDetails"]["error"]
        for event in execution_of(cloud, record)
        if event["type"] == "TaskFailed"
    ]


def upload_for(cloud: LocalCloud, target: str) -> str:
    """Audio for the audio function, a photo for everything else; returns the key."""
    if target == "AudioFunction":
        cloud.upload(tone_wav(), AUDIO_KEY)
        return AUDIO_KEY
    cloud.upload(photo_jpeg(), KEY)
    return KEY


@pytest.mark.parametrize(
    ("target", "error", "times"),
    [
        ("InspectFunction", "Lambda.TooManyRequestsException", 3),
        ("ThumbnailFunction", "Lambda.ServiceException", 2),
        ("ThumbnailFunction", "Lambda.SdkClientException", 1),
        ("ThumbnailFunction", "Sandbox.Timedout", 1),
        ("rekognition:DetectLabels", "Rekognition.ThrottlingException", 3),
        ("rekognition:DetectLabels", "Rekognition.InternalServerErrorException", 2),
        ("dynamodb:PutItem", "DynamoDB.ProvisionedThroughputExceededException", 2),
        ("dynamodb:PutItem", "DynamoDB.RequestLimitExceededException", 1),
        ("dynamodb:UpdateItem", "DynamoDB.ThrottlingException", 1),
        ("dynamodb:UpdateItem", "DynamoDB.InternalServerErrorException", 2),
        ("dynamodb:UpdateItem", "DynamoDB.AmazonDynamoDBException", 1),
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


def test_lambda_throttling_longer_than_the_old_budget_is_waited_out(cloud: LocalCloud) -> None:
    # Until the budget was sized for minutes, the sixth throttle in a row ended FAILED: five
    # retries, about 31 s of back-off. A burst beyond the account's concurrency lasts longer.
    throttles = 10
    cloud.faults.add(Fault("ThumbnailFunction", "Lambda.TooManyRequestsException", throttles))

    cloud.upload(photo_jpeg(), KEY)
    cloud.wait_until_settled()

    record = record_of(cloud, KEY)
    assert record["status"] == "PROCESSED"
    assert failed_tasks(cloud, record) == ["Lambda.TooManyRequestsException"] * throttles
    assert cloud.queue_messages(cloud.dlq_url) == []


@pytest.mark.parametrize(
    ("target", "error", "retried"),
    [
        ("ThumbnailFunction", "Lambda.ServiceException", True),
        ("AudioFunction", "Sandbox.Timedout", True),
        ("InspectFunction", "Lambda.TooManyRequestsException", True),
        ("rekognition:DetectLabels", "Rekognition.InternalServerErrorException", True),
        ("dynamodb:PutItem", "DynamoDB.RequestLimitExceededException", True),
        # what retrying cannot cure fails at once
        ("AudioFunction", "Runtime.OutOfMemory", False),
        ("InspectFunction", "Runtime.ImportModuleError", False),
        ("dynamodb:PutItem", "DynamoDB.ResourceNotFoundException", False),
    ],
)
def test_a_permanent_fault_ends_in_one_failed_record_and_one_dlq_message(
    cloud: LocalCloud, target: str, error: str, retried: bool
) -> None:
    cloud.faults.add(Fault(target, error, FOREVER))

    key = upload_for(cloud, target)
    cloud.wait_until_settled()

    record = record_of(cloud, key)
    assert (record["status"], record["error"]) == ("FAILED", error)
    attempts = failed_tasks(cloud, record)
    assert set(attempts) == {error} and (len(attempts) > 1) == retried
    messages = cloud.queue_messages(cloud.dlq_url)
    assert len(messages) == 1
    body = json.loads(messages[0]["Body"])
    assert body["executionArn"] == record["executionArn"] and body["error"] == error


def test_an_event_whose_execution_cannot_start_lands_in_the_rules_dead_letter_queue(
    cloud: LocalCloud,
) -> None:
    # StartExecution answers 400, which EventBridge does not retry
    cloud.faults.add(Fault("events:StartExecution", "ExecutionLimitExceeded"))

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
    assert attributes["ERROR_CODE"]["StringValue"] == "RESOURCE_LIMIT_EXCEEDED"
    assert attributes["RETRY_ATTEMPTS"]["StringValue"] == "0"


def test_eventbridge_retries_a_throttled_start_and_the_upload_is_processed(
    cloud: LocalCloud,
) -> None:
    # StartExecution is throttled three times: EventBridge retries it, with back-off
    cloud.faults.add(Fault("events:StartExecution", "ThrottlingException", times=3))

    cloud.upload(photo_jpeg(), KEY)
    cloud.wait_until_settled()

    assert record_of(cloud, KEY)["status"] == "PROCESSED"
    assert len(cloud.executions()) == 1
    assert cloud.queue_messages(cloud.rule_dlq_url or "") == []
    assert cloud.faults.injected == {"events:StartExecution=ThrottlingException": 3}


@pytest.mark.parametrize(
    ("target", "error"),
    [
        # the names the workflow used to retry, which AWS never reports
        ("rekognition:DetectLabels", "Rekognition.InternalServerError"),
        ("rekognition:DetectLabels", "Rekognition.LimitExceededException"),
        ("dynamodb:PutItem", "DynamoDB.RequestLimitExceeded"),
        ("InspectFunction", "Lambda.Unknown"),
        ("NoSuchFunction", "RuntimeError"),
    ],
)
def test_a_fault_aws_cannot_produce_is_refused(cloud: LocalCloud, target: str, error: str) -> None:
    with pytest.raises(ValueError, match=target):
        cloud.faults.add(Fault(target, error))
    assert cloud.faults.faults == []
