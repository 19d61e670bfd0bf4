"""Recovery on the embedded local cloud: `redrive` and `reconcile` after an outage.

Each test makes something go wrong as it would in production (a function that raises, an
execution that cannot start, an event that never arrives, a database that refuses writes), ends
the outage, runs the recovery an operator would run, and checks what the operator would check:
the records, the dead-letter queue and the executions, and that a second run changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mediaflow.localcloud import LocalCloud
from mediaflow.localcloud.faults import FOREVER, Fault
from mediaflow.localcloud.template import local_name
from mediaflow.operations.reconcile import ABANDONED_ERROR, ReconcileReport, reconcile
from mediaflow.operations.redrive import RedriveReport, redrive
from tests.workflow.conftest import entered_states, event_of, execution_of, photo_jpeg, record_of

KEY = "uploads/phone-1/holiday.jpg"


def run_redrive(cloud: LocalCloud, **options: Any) -> RedriveReport:
    report = redrive(cloud.sqs, cloud.sfn, cloud.stack_resources(), wait_seconds=0, **options)
    cloud.wait_until_settled()
    return report


def run_reconcile(cloud: LocalCloud, **options: Any) -> ReconcileReport:
    report = reconcile(cloud.s3, cloud.dynamodb, cloud.sfn, cloud.stack_resources(), **options)
    cloud.wait_until_settled()
    return report


def end_outage(cloud: LocalCloud) -> None:
    cloud.faults.faults.clear()


@contextmanager
def events_lost(cloud: LocalCloud) -> Iterator[None]:
    """Uploads made inside never reach the workflow: the rule has no target for a while
    (as after a bad deployment), so EventBridge drops their events."""
    rule = local_name(cloud.machine.rule.logical_id)  # type: ignore[union-attr]
    targets = cloud.events.list_targets_by_rule(Rule=rule)["Targets"]
    cloud.events.remove_targets(Rule=rule, Ids=[target["Id"] for target in targets])
    try:
        yield
    finally:
        cloud.events.put_targets(Rule=rule, Targets=targets)


def execution_names(cloud: LocalCloud, prefix: str) -> list[str]:
    return [e["name"] for e in cloud.executions() if e["name"].startswith(prefix)]


# -- redrive ---------------------------------------------------------------------------------


def test_redrive_replays_a_workflow_failure_and_a_second_run_does_nothing(
    cloud: LocalCloud,
) -> None:
    # Given the thumbnail function crashed on an upload: the record is FAILED, the event queued
    cloud.faults.add(Fault("ThumbnailFunction", "RuntimeError", times=FOREVER))
    version = cloud.upload(photo_jpeg(), KEY)
    cloud.wait_until_settled()
    failed = record_of(cloud, KEY)
    assert failed["status"] == "FAILED"
    assert len(cloud.queue_messages(cloud.dlq_url)) == 1

    # When the bug is fixed and the operator redrives
    end_outage(cloud)
    report = run_redrive(cloud)

    # Then the upload is processed, by a replay of the same version, and the queue is empty
    record = record_of(cloud, KEY)
    assert record["status"] == "PROCESSED"
    assert record["versionId"] == version
    assert record["executionArn"].rsplit(":", 1)[-1].startswith("redrive-")
    assert event_of(cloud, record["executionArn"]) == event_of(cloud, failed["executionArn"])
    assert cloud.queue_messages(cloud.dlq_url) == []
    assert (report.messages_read, report.executions_started, report.messages_deleted) == (1, 1, 1)
    assert report.left_in_queue == []
    # the failed execution went through the workflow's failure path: replayed, not redriven
    assert (report.unfinished_executions, report.in_queue_executions) == (1, 1)
    assert "replayed uploads/phone-1/holiday.jpg" in report.summary()

    # And a second redrive finds nothing to do
    executions = len(cloud.executions())
    again = run_redrive(cloud)
    assert again.nothing_to_do
    assert again.summary().startswith("Nothing to do")
    assert len(cloud.executions()) == executions
    assert record_of(cloud, KEY)["executionArn"] == record["executionArn"]


def test_redrive_starts_an_event_that_could_not_start_the_workflow(cloud: LocalCloud) -> None:
    # Given EventBridge could not start the workflow: the event is in the rule's dead-letter queue
    cloud.faults.add(Fault("events:StartExecution", "ExecutionLimitExceeded", times=1))
    cloud.upload(photo_jpeg(), KEY)
    cloud.wait_until_settled()
    assert cloud.records() == []
    [message] = cloud.queue_messages(cloud.dlq_url)
    assert "ERROR_CODE" in message["MessageAttributes"]

    report = run_redrive(cloud)

    assert record_of(cloud, KEY)["status"] == "PROCESSED"
    assert cloud.queue_messages(cloud.dlq_url) == []
    assert report.executions_started == 1
    # EventBridge's ERROR_CODE for a StartExecution refused for its execution quota
    assert "could not start: RESOURCE_LIMIT_EXCEEDED" in report.summary()


def test_a_message_seen_again_after_a_lost_delete_starts_no_second_execution(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a redrive started the replay but died before deleting the message
    cloud.faults.add(Fault("ThumbnailFunction", "RuntimeError", times=1))
    cloud.upload(photo_jpeg(), KEY)
    cloud.wait_until_settled()
    monkeypatch.setattr("mediaflow.operations.redrive.VISIBILITY_TIMEOUT_SECONDS", 0)

    class LostDelete:
        def __init__(self, sqs: object) -> None:
            self._sqs = sqs

        def __getattr__(self, name: str) -> object:
            return getattr(self._sqs, name)

        def delete_message(self, **_: object) -> None:
            pass

    resources = cloud.stack_resources()
    redrive(LostDelete(cloud.sqs), cloud.sfn, resources, wait_seconds=0)  # type: ignore[arg-type]
    cloud.wait_until_settled()

    # When the next redrive reads the same message
    report = run_redrive(cloud)

    # Then it finds the replay instead of starting another, and deletes the message
    assert (report.executions_started, report.already_replayed) == (0, 1)
    assert report.messages_deleted == 1
    assert len(execution_names(cloud, "redrive-")) == 1
    assert cloud.calls["lambda:ThumbnailFunction"] == 2  # the failure, then the one replay
    assert cloud.queue_messages(cloud.dlq_url) == []


def test_redrive_leaves_messages_that_are_not_mediaflow_events_in_the_queue(
    cloud: LocalCloud,
) -> None:
    cloud.sqs.send_message(QueueUrl=cloud.dlq_url, MessageBody="not json")
    foreign = {
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": "someone-else"}, "object": {"key": "uploads/x.jpg"}},
    }
    cloud.sqs.send_message(QueueUrl=cloud.dlq_url, MessageBody=json.dumps(foreign))

    report = run_redrive(cloud)

    assert report.messages_read == 2 and report.messages_deleted == 0
    assert len(report.left_in_queue) == 2
    assert any("not JSON" in why for why in report.left_in_queue)
    assert any("'someone-else'" in why for why in report.left_in_queue)
    # still there, and visible at once for the person who has to look at them
    assert len(cloud.queue_messages(cloud.dlq_url)) == 2
    assert cloud.executions() == []


def test_redrive_dry_run_changes_nothing(cloud: LocalCloud) -> None:
    cloud.faults.add(Fault("ThumbnailFunction", "RuntimeError", times=1))
    cloud.upload(photo_jpeg(), KEY)
    cloud.wait_until_settled()

    report = run_redrive(cloud, dry_run=True)

    assert report.executions_started == 1 and report.messages_deleted == 0
    assert "would replay uploads/phone-1/holiday.jpg" in report.summary()
    assert len(cloud.queue_messages(cloud.dlq_url)) == 1
    assert record_of(cloud, KEY)["status"] == "FAILED"
    assert len(cloud.executions()) == 1


def test_redrive_says_the_local_cloud_cannot_redrive_executions(cloud: LocalCloud) -> None:
    # Given an execution that failed before the workflow's failure path could catch anything
    cloud.sfn.start_execution(
        stateMachineArn=cloud.state_machine_arn,
        name="broken-input",
        input=json.dumps({"detail": {}}),
    )
    cloud.wait_until_settled()

    report = run_redrive(cloud)

    assert (report.unfinished_executions, report.in_queue_executions) == (1, 0)
    assert report.executions_redriven == 0 and report.not_redrivable == 1
    # moto's interpreter cannot redrive: the local cloud says so, as AWS says NOT_REDRIVABLE
    assert "not redrivable, The local cloud cannot redrive executions" in report.summary()


def test_redrive_replays_a_failure_before_the_claim(cloud: LocalCloud) -> None:
    cloud.faults.add(Fault("InspectFunction", "RuntimeError", times=1))
    cloud.upload(photo_jpeg(), KEY)
    cloud.wait_until_settled()
    assert record_of(cloud, KEY)["status"] == "FAILED"

    run_redrive(cloud)

    assert record_of(cloud, KEY)["status"] == "PROCESSED"


# -- reconcile -------------------------------------------------------------------------------


def test_reconcile_processes_an_upload_whose_event_was_lost_and_a_second_run_does_nothing(
    cloud: LocalCloud,
) -> None:
    # Given an upload whose event never reached the workflow
    with events_lost(cloud):
        version = cloud.upload(photo_jpeg(), KEY, metadata={"platform": "ios"})
    cloud.wait_until_settled()
    assert cloud.executions() == [] and cloud.records() == []

    # When the operator reconciles
    report = run_reconcile(cloud)

    # Then the object is processed from an event of the real shape, marked as a reconcile
    record = record_of(cloud, KEY)
    assert record["status"] == "PROCESSED"
    assert (record["versionId"], record["platform"]) == (version, "ios")
    event = event_of(cloud, record["executionArn"])
    assert event["detail-type"] == "Object Created" and event["detail"]["reason"] == "Reconcile"
    assert event["detail"]["object"]["version-id"] == version
    assert report.started == {"no record": 1}
    assert report.objects_scanned == 1

    # And a second run starts nothing
    again = run_reconcile(cloud)
    assert again.nothing_to_do and again.final == 1
    assert len(cloud.executions()) == 1


def test_reconcile_processes_a_newer_version_whose_event_was_lost(cloud: LocalCloud) -> None:
    cloud.upload(photo_jpeg(320, 240), KEY)
    cloud.wait_until_settled()
    first = record_of(cloud, KEY)
    with events_lost(cloud):
        newer = cloud.upload(photo_jpeg(640, 480), KEY)

    report = run_reconcile(cloud)

    record = record_of(cloud, KEY)
    assert report.started == {"record of another version": 1}
    assert (record["status"], record["versionId"]) == ("PROCESSED", newer)
    assert (record["image"]["width"], record["image"]["height"]) == (640, 480)
    # the claim took it as newer than what the record held
    assert record["sequencer"] > first["sequencer"]
    assert "Skip duplicate" not in entered_states(execution_of(cloud, record))


def test_reconcile_takes_over_a_record_its_execution_abandoned(cloud: LocalCloud) -> None:
    # Given DynamoDB refused every update: the execution failed with its record still PROCESSING
    cloud.faults.add(
        Fault("dynamodb:UpdateItem", "DynamoDB.AmazonDynamoDBException", times=FOREVER)
    )
    cloud.upload(photo_jpeg(), KEY)
    cloud.wait_until_settled()
    stuck = record_of(cloud, KEY)
    assert stuck["status"] == "PROCESSING"
    assert cloud.sfn.describe_execution(executionArn=stuck["executionArn"])["status"] == "FAILED"
    end_outage(cloud)

    # A dry run says what it would do and does nothing
    dry = run_reconcile(cloud, dry_run=True)
    assert dry.started == {"abandoned": 1}
    assert record_of(cloud, KEY) == stuck

    # When the operator reconciles
    report = run_reconcile(cloud)

    # Then the record is taken over and processed
    record = record_of(cloud, KEY)
    assert report.started == {"abandoned": 1}
    assert record["status"] == "PROCESSED"
    assert record["executionArn"] != stuck["executionArn"]
    history = execution_of(cloud, record)
    assert "Claim object" in entered_states(history)
    assert "Skip duplicate" not in entered_states(history)
    # the same version and sequencer: the abandoned mark (FAILED) is what let the claim take it
    replayed = event_of(cloud, record["executionArn"])["detail"]["object"]
    assert replayed["sequencer"] == stuck["sequencer"]
    assert run_reconcile(cloud).nothing_to_do


def test_reconcile_marks_an_abandoned_record_failed_before_starting(cloud: LocalCloud) -> None:
    cloud.faults.add(
        Fault("dynamodb:UpdateItem", "DynamoDB.AmazonDynamoDBException", times=FOREVER)
    )
    cloud.upload(photo_jpeg(), KEY)
    cloud.wait_until_settled()
    stuck = record_of(cloud, KEY)
    end_outage(cloud)
    # the replay cannot run (its start fails), so the mark is what the record shows
    cloud.faults.add(Fault("stepfunctions:StartExecution", "ExecutionLimitExceeded", times=1))

    with pytest.raises(ClientError, match="ExecutionLimitExceeded"):
        run_reconcile(cloud)

    record = record_of(cloud, KEY)
    assert (record["status"], record["error"]) == ("FAILED", ABANDONED_ERROR)
    assert stuck["executionArn"] in record["cause"] and "FAILED" in record["cause"]
    # and the next run, with the outage over, finishes the job
    assert run_reconcile(cloud).started == {"failed": 1}
    assert record_of(cloud, KEY)["status"] == "PROCESSED"


def test_reconcile_leaves_final_records_alone_and_reprocesses_failed_ones(
    cloud: LocalCloud,
) -> None:
    # Given one processed, one rejected and one failed upload
    cloud.upload(photo_jpeg(), "uploads/phone-1/fine.jpg")
    cloud.upload(b"%PDF-1.7\n" * 50, "uploads/phone-1/invoice.jpg")
    cloud.wait_until_settled()
    cloud.faults.add(Fault("ThumbnailFunction", "RuntimeError", times=1))
    cloud.upload(photo_jpeg(), "uploads/phone-1/broken.jpg")
    cloud.wait_until_settled()
    before = {record["key"]: record for record in cloud.records()}
    assert [before[key]["status"] for key in sorted(before)] == ["FAILED", "PROCESSED", "REJECTED"]
    thumbnails = cloud.calls["lambda:ThumbnailFunction"]

    report = run_reconcile(cloud)

    after = {record["key"]: record for record in cloud.records()}
    assert report.final == 2 and report.started == {"failed": 1}
    assert after["uploads/phone-1/broken.jpg"]["status"] == "PROCESSED"
    for key in ("uploads/phone-1/fine.jpg", "uploads/phone-1/invoice.jpg"):
        assert after[key] == before[key]
    assert cloud.calls["lambda:ThumbnailFunction"] == thumbnails + 1  # only the failed one

    again = run_reconcile(cloud)
    assert again.nothing_to_do and again.final == 3
    assert {record["key"]: record for record in cloud.records()} == after
