"""`mediaflow redrive`: replay the dead-letter queue, then redrive the executions that failed
without reaching it.

It starts the ingest workflow again for every event in `FailedEventsQueue` (workflow failures,
and events EventBridge could not deliver), then asks Step Functions to redrive the failed
executions that never reached the workflow's own failure path. It takes boto3 clients, so the
same code runs against a deployed stack and on the embedded local cloud, and it is idempotent:
each execution it starts is named after the message it replays.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from mediaflow.operations.replays import execution_arn, replay_name, short_name, start_once
from mediaflow.operations.stack import StackResources

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef
    from mypy_boto3_stepfunctions import SFNClient
    from mypy_boto3_stepfunctions.literals import ExecutionStatusType

# The task on the workflow's failure path that puts the event in FailedEventsQueue
# (statemachines/ingest.asl.json): an execution that entered it is replayed from the queue.
SEND_TO_DLQ_STATE = "Send to DLQ"
# Step Functions redrives an execution only within 14 days of its end.
REDRIVE_WINDOW = timedelta(days=14)
UNFINISHED_EXECUTIONS: tuple[ExecutionStatusType, ...] = ("FAILED", "TIMED_OUT", "ABORTED")
# Long enough to start an execution and delete the message; messages left behind are released
# at the end of the run, so this only matters if the run dies half-way.
VISIBILITY_TIMEOUT_SECONDS = 300


@dataclass
class RedriveReport:
    dry_run: bool = False
    messages_read: int = 0
    executions_started: int = 0
    already_replayed: int = 0
    messages_deleted: int = 0
    left_in_queue: list[str] = field(default_factory=list)  # one line per message, saying why
    unfinished_executions: int = 0  # FAILED, TIMED_OUT or ABORTED within the redrive window
    in_queue_executions: int = 0  # of those, the ones whose event the workflow sent to the queue
    executions_redriven: int = 0
    not_redrivable: int = 0
    actions: list[str] = field(default_factory=list)

    @property
    def nothing_to_do(self) -> bool:
        return self.messages_read == 0 and self.unfinished_executions == self.in_queue_executions

    def summary(self) -> str:
        if self.nothing_to_do:
            return "Nothing to do: the dead-letter queue is empty and no execution needs a redrive."
        would = "would be " if self.dry_run else ""
        lines = [
            *self.actions,
            *(f"left in the queue: {why}" for why in self.left_in_queue),
            f"Dead-letter queue: {self.messages_read} message(s) read, "
            f"{self.executions_started} {would}replayed, {self.already_replayed} already replayed, "
            f"{self.messages_deleted} deleted, {len(self.left_in_queue)} left in the queue.",
            f"Executions failed, timed out or aborted in {REDRIVE_WINDOW.days} days: "
            f"{self.unfinished_executions}, {self.in_queue_executions} of them via the queue, "
            f"{self.executions_redriven} {would}redriven, {self.not_redrivable} not redrivable."
            if self.unfinished_executions
            else f"No execution failed, timed out or was aborted in {REDRIVE_WINDOW.days} days.",
        ]
        if self.dry_run:
            lines.append("Dry run: nothing was started, redriven or deleted.")
        return "\n".join(lines)


@dataclass(frozen=True)
class DeadLetter:
    """One message of FailedEventsQueue: the original event, and why it is there."""

    event: dict[str, Any]
    origin: str
    failed_execution: str  # "" when the event never started an execution

    @classmethod
    def parse(cls, message: MessageTypeDef) -> DeadLetter:
        try:
            body = json.loads(message.get("Body", ""))
        except json.JSONDecodeError as error:
            raise ValueError("its body is not JSON") from error
        if isinstance(body, dict) and isinstance(body.get("event"), dict):
            # From the workflow's "Send to DLQ" state: the failure, with the execution's input.
            origin = f"workflow failed: {body.get('error')}"
            return cls(body["event"], origin, str(body.get("executionArn", "")))
        if isinstance(body, dict) and body.get("detail-type") == "Object Created":
            # From the rule's DeadLetterConfig: the event itself; why, in the message attributes.
            attributes = message.get("MessageAttributes") or {}
            code = attributes["ERROR_CODE"].get("StringValue") if "ERROR_CODE" in attributes else ""
            return cls(body, f"could not start: {code or 'no ERROR_CODE'}", "")
        raise ValueError("it is neither a workflow failure nor an S3 Object Created event")

    def object_key(self, bucket: str) -> str:
        try:
            named_bucket = self.event["detail"]["bucket"]["name"]
            key = self.event["detail"]["object"]["key"]
        except (KeyError, TypeError) as error:
            raise ValueError(f"its event names no bucket and key ({error})") from error
        if named_bucket != bucket:
            raise ValueError(f"its event is for bucket {named_bucket!r}, not {bucket!r}")
        return str(key)


def redrive(
    sqs: SQSClient,
    sfn: SFNClient,
    resources: StackResources,
    *,
    prefix: str | None = None,
    dry_run: bool = False,
    wait_seconds: int = 2,
    now: datetime | None = None,
) -> RedriveReport:
    """Replay FailedEventsQueue, then redrive unfinished executions that are not in it."""
    prefix = resources.prefix_to_process(prefix)
    report = RedriveReport(dry_run=dry_run)
    replay_dead_letters(
        sqs, sfn, resources, report, prefix=prefix, dry_run=dry_run, wait_seconds=wait_seconds
    )
    redrive_executions(sfn, resources, report, dry_run=dry_run, now=now or datetime.now(UTC))
    return report


def replay_dead_letters(
    sqs: SQSClient,
    sfn: SFNClient,
    resources: StackResources,
    report: RedriveReport,
    *,
    prefix: str,
    dry_run: bool,
    wait_seconds: int,
) -> None:
    """Start one execution per message, with the original event, then delete the message."""
    queue = resources.failed_events_queue_url
    seen: set[str] = set()
    replays: set[str] = set()  # ARNs of the executions this run started or found
    kept: list[str] = []  # receipt handles of the messages left in the queue
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue,
            MaxNumberOfMessages=10,
            VisibilityTimeout=VISIBILITY_TIMEOUT_SECONDS,
            # Long polling asks every SQS server: an empty answer means an empty queue.
            WaitTimeSeconds=wait_seconds,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        fresh = [message for message in batch if message["MessageId"] not in seen]
        kept += [message["ReceiptHandle"] for message in batch if message["MessageId"] in seen]
        if not fresh:
            break
        for message in fresh:
            seen.add(message["MessageId"])
            report.messages_read += 1
            handle = message["ReceiptHandle"]
            if _replay(sfn, resources, report, message, replays, prefix=prefix, dry_run=dry_run):
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=handle)
                report.messages_deleted += 1
            else:
                kept.append(handle)
    # Whatever stays in the queue is visible again at once, for a person or the next run.
    for handle in kept:
        sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=handle, VisibilityTimeout=0)


def _replay(
    sfn: SFNClient,
    resources: StackResources,
    report: RedriveReport,
    message: MessageTypeDef,
    replays: set[str],
    *,
    prefix: str,
    dry_run: bool,
) -> bool:
    """Start the message's event once; True when the message can be deleted."""
    message_id = message["MessageId"]
    try:
        letter = DeadLetter.parse(message)
        key = letter.object_key(resources.bucket)
    except ValueError as error:
        report.left_in_queue.append(f"message {message_id}: not a Mediaflow event, {error}")
        return False
    if not key.startswith(prefix):
        report.left_in_queue.append(f"message {message_id} ({key}): outside {prefix}")
        return False
    if letter.failed_execution in replays:
        # The cause is still there: replaying again would only fill the queue again.
        report.left_in_queue.append(
            f"message {message_id} ({key}): its replay failed again in this run, fix the cause"
        )
        return False
    # One replay per message: a message seen again after a run died before deleting it has the
    # same MessageId, so it maps to the execution that run started.
    name = replay_name("redrive", message_id)
    replays.add(execution_arn(resources.state_machine_arn, name))
    if dry_run:
        report.executions_started += 1
        report.actions.append(f"would replay {key} as {short_name(name)}… ({letter.origin})")
        return False
    found = start_once(sfn, resources.state_machine_arn, name, json.dumps(letter.event))
    if found:
        report.already_replayed += 1
        report.actions.append(f"{key}: already replayed as {short_name(name)}… ({found}), deleted")
    else:
        report.executions_started += 1
        report.actions.append(f"replayed {key} as {short_name(name)}… ({letter.origin}), deleted")
    return True


def redrive_executions(
    sfn: SFNClient,
    resources: StackResources,
    report: RedriveReport,
    *,
    dry_run: bool,
    now: datetime,
) -> None:
    """RedriveExecution for recent unfinished executions whose event is not in the queue."""
    paginator = sfn.get_paginator("list_executions")
    for status in UNFINISHED_EXECUTIONS:
        pages = paginator.paginate(stateMachineArn=resources.state_machine_arn, statusFilter=status)
        for page in pages:
            for execution in page["executions"]:
                stopped = execution.get("stopDate")
                if stopped is not None and now - stopped > REDRIVE_WINDOW:
                    continue
                report.unfinished_executions += 1
                _redrive_one(sfn, execution["executionArn"], report, dry_run=dry_run)


def _redrive_one(sfn: SFNClient, arn: str, report: RedriveReport, *, dry_run: bool) -> None:
    name = arn.rsplit(":", 1)[-1]
    if _entered(sfn, arn, SEND_TO_DLQ_STATE):
        report.in_queue_executions += 1
        return
    described = sfn.describe_execution(executionArn=arn)
    redrive_status = described.get("redriveStatus")
    if redrive_status != "REDRIVABLE":
        report.not_redrivable += 1
        why = described.get("redriveStatusReason") or redrive_status
        report.actions.append(f"execution {name} ({described['status']}): not redrivable, {why}")
        return
    if dry_run:
        report.executions_redriven += 1
        report.actions.append(f"would redrive execution {name} ({described['status']})")
        return
    # The same token for the same attempt: a retried call does not redrive twice.
    token = hashlib.sha256(f"{arn}#{described.get('redriveCount', 0)}".encode()).hexdigest()
    try:
        sfn.redrive_execution(executionArn=arn, clientToken=token)
    except sfn.exceptions.ExecutionNotRedrivable as error:
        report.not_redrivable += 1
        report.actions.append(f"execution {name}: not redrivable, {error}")
        return
    report.executions_redriven += 1
    report.actions.append(f"redrove execution {name} ({described['status']})")


def _entered(sfn: SFNClient, arn: str, state: str) -> bool:
    # Newest first: the failure path is at the end of the history.
    pages = sfn.get_paginator("get_execution_history").paginate(
        executionArn=arn, reverseOrder=True, includeExecutionData=False
    )
    return any(
        event.get("stateEnteredEventDetails", {}).get("name") == state
        for page in pages
        for event in page["events"]
    )
