"""`mediaflow.operations` (redrive, reconcile) as they run against AWS, without the local cloud.

S3, DynamoDB, SQS and Step Functions are moto's (`mock_aws`; its executions stay RUNNING, which is
what a second run meets while the first run's executions work). botocore's Stubber stands in
where moto cannot: CloudFormation stack outputs (moto's CloudFormation needs extras this project
does not install) and RedriveExecution with `redriveStatus` (moto has neither).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from mediaflow.operations.reconcile import ABANDONED_ERROR, reconcile
from mediaflow.operations.redrive import RedriveReport, redrive, redrive_executions
from mediaflow.operations.stack import StackResources, media_id
from tests.conftest import load_event

REGION = "us-east-1"
MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:mediaflow-ingest"
EXECUTIONS = "arn:aws:states:us-east-1:123456789012:execution:mediaflow-ingest"
PASS = json.dumps({"StartAt": "Go", "States": {"Go": {"Type": "Pass", "End": True}}})
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Aws:
    s3: Any
    dynamodb: Any
    sqs: Any
    sfn: Any
    resources: StackResources

    def put(self, key: str, body: bytes = b"\xff\xd8\xff\xe0 a jpeg") -> str:
        written = self.s3.put_object(Bucket=self.resources.bucket, Key=key, Body=body)
        return str(written["VersionId"])

    def put_record(self, key: str, **attributes: str) -> None:
        item = {"mediaId": media_id(self.resources.bucket, key), "key": key, **attributes}
        self.dynamodb.put_item(
            TableName=self.resources.table,
            Item={name: {"S": value} for name, value in item.items()},
        )

    def record(self, key: str) -> dict[str, str]:
        item = self.dynamodb.get_item(
            TableName=self.resources.table,
            Key={"mediaId": {"S": media_id(self.resources.bucket, key)}},
        )
        return {name: value["S"] for name, value in item["Item"].items()}

    def started(self, prefix: str) -> dict[str, dict[str, Any]]:
        """The input of every execution whose name starts with `prefix`, by object key."""
        executions = self.sfn.list_executions(stateMachineArn=self.resources.state_machine_arn)
        found = {}
        for execution in executions["executions"]:
            if execution["name"].startswith(prefix):
                described = self.sfn.describe_execution(executionArn=execution["executionArn"])
                event = json.loads(described["input"])
                found[event["detail"]["object"]["key"]] = event
        return found


@pytest.fixture
def aws() -> Iterator[Aws]:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        sfn = boto3.client("stepfunctions", region_name=REGION)
        s3.create_bucket(Bucket="media")
        s3.put_bucket_versioning(Bucket="media", VersioningConfiguration={"Status": "Enabled"})
        dynamodb.create_table(
            TableName="records",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "mediaId", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "mediaId", "KeyType": "HASH"}],
        )
        queue = sqs.create_queue(QueueName="failed-events")["QueueUrl"]
        machine = sfn.create_state_machine(
            name="mediaflow-ingest",
            definition=PASS,
            roleArn="arn:aws:iam::123456789012:role/ingest",
        )["stateMachineArn"]
        yield Aws(s3, dynamodb, sqs, sfn, StackResources("media", "records", machine, queue))


def object_created(key: str, sequencer: str = "0062E9943B8C3D6B91") -> dict[str, Any]:
    event = load_event("s3-object-created.json")
    event["detail"]["bucket"]["name"] = "media"
    event["detail"]["object"].update(key=key, sequencer=sequencer)
    return event


# -- the stack -------------------------------------------------------------------------------


def stubbed_cloudformation(response: dict[str, Any] | None = None, error: str = "") -> Any:
    """A CloudFormation client that answers one DescribeStacks: `response`, or `error`."""
    client = boto3.client("cloudformation", region_name=REGION)
    stubber = Stubber(client)
    if error:
        stubber.add_client_error(
            "describe_stacks",
            service_error_code=error,
            service_message="Stack with id nope does not exist",
        )
    else:
        stubber.add_response("describe_stacks", response or {}, {"StackName": "mediaflow"})
    stubber.activate()
    return client


def stack_with(outputs: dict[str, str]) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": "mediaflow",
                "CreationTime": NOW,
                "StackStatus": "UPDATE_COMPLETE",
                "Outputs": [
                    {"OutputKey": key, "OutputValue": value} for key, value in outputs.items()
                ],
            }
        ]
    }


OUTPUTS = {
    "MediaBucketName": "mediaflow-mediabucket-1a2b",
    "MediaTableName": "mediaflow-MediaTable-3C4D",
    "IngestStateMachineArn": MACHINE_ARN,
    "FailedEventsQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/mediaflow-Failed",
    "AlarmTopicArn": "arn:aws:sns:us-east-1:123456789012:mediaflow-alarms",
}


def test_from_stack_reads_the_deployed_stacks_outputs() -> None:
    resources = StackResources.from_stack(stubbed_cloudformation(stack_with(OUTPUTS)), "mediaflow")

    assert resources == StackResources(
        bucket="mediaflow-mediabucket-1a2b",
        table="mediaflow-MediaTable-3C4D",
        state_machine_arn=MACHINE_ARN,
        failed_events_queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/mediaflow-Failed",
    )


def test_the_outputs_it_reads_are_the_templates() -> None:
    from mediaflow.localcloud.template import load_template
    from tests.conftest import ROOT

    declared = load_template(ROOT / "template.yaml")["Outputs"]
    assert {
        "MediaBucketName",
        "MediaTableName",
        "IngestStateMachineArn",
        "FailedEventsQueueUrl",
    } <= set(declared)


def test_the_operator_tools_refuse_a_prefix_the_workflow_does_not_ingest(aws: Aws) -> None:
    # `mediaflow reconcile --prefix thumbnails/`: the stack's upload folder is uploads/
    with pytest.raises(ValueError, match="outside uploads/"):
        reconcile(aws.s3, aws.dynamodb, aws.sfn, aws.resources, prefix="thumbnails/")
    with pytest.raises(ValueError, match="outside uploads/"):
        redrive(aws.sqs, aws.sfn, aws.resources, prefix="thumbnails/", wait_seconds=0)


def test_the_upload_folder_is_the_stacks_own() -> None:
    outputs = {**OUTPUTS, "UploadPrefix": "incoming/"}
    resources = StackResources.from_stack(stubbed_cloudformation(stack_with(outputs)), "mediaflow")

    assert resources.upload_prefix == "incoming/"
    assert resources.prefix_to_process(None) == "incoming/"
    with pytest.raises(ValueError, match="outside incoming/"):
        resources.prefix_to_process("uploads/")


def test_from_stack_names_the_outputs_a_stack_lacks() -> None:
    partial = {k: v for k, v in OUTPUTS.items() if k != "IngestStateMachineArn"}

    with pytest.raises(LookupError, match="IngestStateMachineArn"):
        StackResources.from_stack(stubbed_cloudformation(stack_with(partial)), "mediaflow")


def test_from_stack_says_when_there_is_no_such_stack() -> None:
    with pytest.raises(LookupError, match="no stack 'mediaflow'"):
        StackResources.from_stack(stubbed_cloudformation(error="ValidationError"), "mediaflow")


# -- redrive ---------------------------------------------------------------------------------


def test_redrive_replays_both_kinds_of_dead_letter_once(aws: Aws) -> None:
    queue = aws.resources.failed_events_queue_url
    failed = object_created("uploads/cam-1/a.jpg")
    aws.sqs.send_message(
        QueueUrl=queue,
        MessageBody=json.dumps(
            {
                "executionArn": f"{EXECUTIONS}:first",
                "mediaId": media_id("media", "uploads/cam-1/a.jpg"),
                "error": "RuntimeError",
                "cause": "boom",
                "event": failed,
            }
        ),
    )
    unstarted = object_created("uploads/cam-1/b.jpg")
    attributes = {"ERROR_CODE": "SDK_CLIENT_ERROR", "ERROR_MESSAGE": "Throttled"}
    sent = aws.sqs.send_message(
        QueueUrl=queue,
        MessageBody=json.dumps(unstarted),
        MessageAttributes={
            name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
        },
    )

    report = redrive(aws.sqs, aws.sfn, aws.resources, wait_seconds=0, now=NOW)

    assert (report.messages_read, report.executions_started, report.messages_deleted) == (2, 2, 2)
    assert aws.sqs.receive_message(QueueUrl=queue).get("Messages", []) == []
    # each execution's input is the original event, unchanged
    started = aws.started("redrive-")
    assert started == {"uploads/cam-1/a.jpg": failed, "uploads/cam-1/b.jpg": unstarted}
    # and its name comes from the message, so a message read again maps to the same execution
    names = {e["name"] for e in aws.sfn.list_executions(stateMachineArn=MACHINE_ARN)["executions"]}
    assert f"redrive-{hashlib.sha256(sent['MessageId'].encode()).hexdigest()}" in names
    assert "could not start: SDK_CLIENT_ERROR" in report.summary()
    assert "workflow failed: RuntimeError" in report.summary()

    again = redrive(aws.sqs, aws.sfn, aws.resources, wait_seconds=0, now=NOW)
    assert again.nothing_to_do
    assert len(aws.sfn.list_executions(stateMachineArn=MACHINE_ARN)["executions"]) == 2


def test_redrive_leaves_events_outside_the_prefix(aws: Aws) -> None:
    queue = aws.resources.failed_events_queue_url
    event = object_created("uploads/cam-2/a.jpg")
    aws.sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(event))

    report = redrive(aws.sqs, aws.sfn, aws.resources, prefix="uploads/cam-1/", wait_seconds=0)

    assert report.messages_deleted == 0
    assert ["outside uploads/cam-1/" in why for why in report.left_in_queue] == [True]
    assert len(aws.sqs.receive_message(QueueUrl=queue)["Messages"]) == 1


def test_redrive_refuses_a_prefix_the_workflow_does_not_ingest(aws: Aws) -> None:
    with pytest.raises(ValueError, match="outside uploads/"):
        redrive(aws.sqs, aws.sfn, aws.resources, prefix="thumbnails/", wait_seconds=0)


def execution(name: str, status: str, stopped: datetime) -> dict[str, Any]:
    return {
        "executionArn": f"{EXECUTIONS}:{name}",
        "stateMachineArn": MACHINE_ARN,
        "name": name,
        "status": status,
        "startDate": stopped - timedelta(seconds=5),
        "stopDate": stopped,
    }


def history(*states: str) -> dict[str, Any]:
    return {
        "events": [
            {
                "timestamp": NOW,
                "type": "TaskStateEntered",
                "id": index + 1,
                "stateEnteredEventDetails": {"name": state},
            }
            for index, state in enumerate(states)
        ]
    }


def test_redrive_uses_redrive_execution_for_failures_the_queue_does_not_hold() -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    stubber = Stubber(sfn)
    crashed = execution("crashed", "FAILED", NOW - timedelta(hours=1))
    queued = execution("queued", "FAILED", NOW - timedelta(hours=2))
    too_old = execution("too-old", "FAILED", NOW - timedelta(days=15))
    huge = execution("huge", "TIMED_OUT", NOW - timedelta(days=1))

    def listing(status: str, *executions: dict[str, Any]) -> None:
        stubber.add_response(
            "list_executions",
            {"executions": list(executions)},
            {"stateMachineArn": MACHINE_ARN, "statusFilter": status},
        )

    def history_of(item: dict[str, Any], *states: str) -> None:
        stubber.add_response(
            "get_execution_history",
            history(*states),
            {
                "executionArn": item["executionArn"],
                "reverseOrder": True,
                "includeExecutionData": False,
            },
        )

    def described(item: dict[str, Any], **redrive: Any) -> None:
        keys = ("executionArn", "stateMachineArn", "status", "startDate")
        response = {key: item[key] for key in keys}
        stubber.add_response(
            "describe_execution", {**response, **redrive}, {"executionArn": item["executionArn"]}
        )

    listing("FAILED", crashed, queued, too_old)
    history_of(crashed, "Identify object", "Inspect object")
    described(crashed, redriveStatus="REDRIVABLE", redriveCount=0)
    stubber.add_response(
        "redrive_execution",
        {"redriveDate": NOW},
        {"executionArn": crashed["executionArn"], "clientToken": ANY},
    )
    history_of(queued, "Ingest failed", "Send to DLQ", "Record failure")
    listing("TIMED_OUT", huge)
    history_of(huge, "Record failure")  # timed out on the failure path, before the queue
    described(
        huge,
        redriveStatus="NOT_REDRIVABLE",
        redriveStatusReason="Execution history event limit exceeded.",
    )
    listing("ABORTED")
    report = RedriveReport()

    with stubber:
        redrive_executions(
            sfn,
            StackResources("media", "records", MACHINE_ARN, "q"),
            report,
            dry_run=False,
            now=NOW,
        )

    stubber.assert_no_pending_responses()
    assert report.unfinished_executions == 3  # the one of 15 days ago is past redriving
    assert report.in_queue_executions == 1
    assert (report.executions_redriven, report.not_redrivable) == (1, 1)
    summary = report.summary()
    assert "redrove execution crashed (FAILED)" in summary
    assert "huge (TIMED_OUT): not redrivable, Execution history event limit exceeded." in summary


# -- reconcile -------------------------------------------------------------------------------


def test_reconcile_starts_exactly_what_has_no_final_record(aws: Aws) -> None:
    # Given objects in every situation
    missing = aws.put("uploads/cam/missing.jpg")
    done = aws.put("uploads/cam/done.jpg")
    aws.put_record(
        "uploads/cam/done.jpg", status="PROCESSED", versionId=done, sequencer="0" * 31 + "1"
    )
    failed = aws.put("uploads/cam/failed.jpg")
    aws.put_record(
        "uploads/cam/failed.jpg", status="FAILED", versionId=failed, sequencer="0" * 30 + "A1"
    )
    early = aws.put("uploads/cam/early.jpg")
    aws.put_record("uploads/cam/early.jpg", status="FAILED")  # failed before the claim
    stuck = aws.put("uploads/cam/stuck.jpg")
    aborted = aws.sfn.start_execution(stateMachineArn=MACHINE_ARN, name="aborted", input="{}")[
        "executionArn"
    ]
    aws.sfn.stop_execution(executionArn=aborted)
    aws.put_record(
        "uploads/cam/stuck.jpg",
        status="PROCESSING",
        versionId=stuck,
        sequencer="0" * 30 + "B2",
        executionArn=aborted,
    )
    older = aws.put("uploads/cam/replaced.jpg")
    newer = aws.put("uploads/cam/replaced.jpg")
    aws.put_record(
        "uploads/cam/replaced.jpg", status="PROCESSED", versionId=older, sequencer="0" * 30 + "FF"
    )
    busy = aws.put("uploads/cam/busy.jpg")
    running = aws.sfn.start_execution(stateMachineArn=MACHINE_ARN, name="running", input="{}")[
        "executionArn"
    ]
    aws.put_record(
        "uploads/cam/busy.jpg",
        status="PROCESSING",
        versionId=busy,
        sequencer="0" * 32,
        executionArn=running,
    )
    aws.put("uploads/cam/deleted.jpg")
    aws.s3.delete_object(Bucket="media", Key="uploads/cam/deleted.jpg")
    aws.put("thumbnails/cam/not-an-upload.jpg")

    report = reconcile(aws.s3, aws.dynamodb, aws.sfn, aws.resources)

    assert report.objects_scanned == 7
    assert (report.final, report.in_progress) == (1, 1)
    assert report.started == {
        "no record": 1,
        "failed": 2,
        "abandoned": 1,
        "record of another version": 1,
    }
    started = aws.started("reconcile-")
    objects = {key.rsplit("/", 1)[-1]: event["detail"]["object"] for key, event in started.items()}
    # each with the sequencer the workflow's claim accepts for its case
    assert objects["missing.jpg"]["sequencer"] == "0"
    assert objects["failed.jpg"]["sequencer"] == "0" * 30 + "A1"
    assert objects["early.jpg"]["sequencer"] == "0"
    assert objects["stuck.jpg"]["sequencer"] == "0" * 30 + "B2"
    assert objects["replaced.jpg"]["sequencer"] == "0" * 29 + "100"
    assert {name: obj["version-id"] for name, obj in objects.items()} == {
        "missing.jpg": missing,
        "failed.jpg": failed,
        "early.jpg": early,
        "stuck.jpg": stuck,
        "replaced.jpg": newer,
    }
    # the abandoned record was released for the claim, saying by whom and why
    record = aws.record("uploads/cam/stuck.jpg")
    assert (record["status"], record["error"]) == ("FAILED", ABANDONED_ERROR)
    assert aborted in record["cause"] and "ABORTED" in record["cause"]

    # When it runs again while those executions still run, it starts nothing
    again = reconcile(aws.s3, aws.dynamodb, aws.sfn, aws.resources)
    assert not again.started and again.in_progress == 6
    assert len(aws.started("reconcile-")) == 5


def test_reconcile_builds_an_s3_object_created_event_of_the_real_shape(aws: Aws) -> None:
    version = aws.put("uploads/cam/a.jpg", b"twelve bytes")

    reconcile(aws.s3, aws.dynamodb, aws.sfn, aws.resources)

    event = aws.started("reconcile-")["uploads/cam/a.jpg"]
    sample = load_event("s3-object-created.json")
    assert set(event) == set(sample)
    assert set(event["detail"]["object"]) == set(sample["detail"]["object"])
    assert (event["source"], event["detail-type"], event["account"], event["region"]) == (
        "aws.s3",
        "Object Created",
        "123456789012",
        "us-east-1",
    )
    assert event["detail"]["object"] | {"sequencer": None} == {
        "key": "uploads/cam/a.jpg",
        "size": 12,
        "etag": hashlib.md5(b"twelve bytes").hexdigest(),
        "version-id": version,
        "sequencer": None,
    }
    assert event["detail"]["reason"] == "Reconcile"
    assert event["resources"] == ["arn:aws:s3:::media"]


def test_reconcile_handles_an_unversioned_bucket(aws: Aws) -> None:
    aws.s3.create_bucket(Bucket="plain")
    aws.s3.put_object(Bucket="plain", Key="uploads/cam/done.jpg", Body=b"x")
    aws.s3.put_object(Bucket="plain", Key="uploads/cam/new.jpg", Body=b"x")
    resources = StackResources("plain", "records", MACHINE_ARN, "unused")
    aws.dynamodb.put_item(
        TableName="records",
        Item={
            "mediaId": {"S": media_id("plain", "uploads/cam/done.jpg")},
            "status": {"S": "REJECTED"},
            "versionId": {"S": ""},
            "sequencer": {"S": "0" * 32},
        },
    )

    report = reconcile(aws.s3, aws.dynamodb, aws.sfn, resources)

    assert report.final == 1 and report.started == {"no record": 1}
    assert "version-id" not in aws.started("reconcile-")["uploads/cam/new.jpg"]["detail"]["object"]


def test_reconcile_leaves_young_objects_to_their_own_events(aws: Aws) -> None:
    aws.put("uploads/cam/just-now.jpg")

    young = reconcile(aws.s3, aws.dynamodb, aws.sfn, aws.resources, min_age=timedelta(minutes=15))
    later = reconcile(
        aws.s3,
        aws.dynamodb,
        aws.sfn,
        aws.resources,
        min_age=timedelta(minutes=15),
        now=datetime.now(UTC) + timedelta(minutes=20),
    )

    assert (young.too_recent, young.started.total()) == (1, 0)
    assert later.started == {"no record": 1}


def test_reconcile_dry_run_changes_nothing(aws: Aws) -> None:
    stuck = aws.put("uploads/cam/stuck.jpg")
    aws.put_record(
        "uploads/cam/stuck.jpg",
        status="PROCESSING",
        versionId=stuck,
        sequencer="0" * 32,
        executionArn=f"{EXECUTIONS}:forgotten",
    )

    report = reconcile(aws.s3, aws.dynamodb, aws.sfn, aws.resources, dry_run=True)

    assert report.started == {"abandoned": 1}
    assert "would start" in report.summary() and "Dry run" in report.summary()
    assert aws.record("uploads/cam/stuck.jpg")["status"] == "PROCESSING"
    assert aws.sfn.list_executions(stateMachineArn=MACHINE_ARN)["executions"] == []
