"""Recovery for operators: replay the dead-letter queue, and process again what has no final record.

`redrive` starts the ingest workflow again for every event in `FailedEventsQueue` (workflow
failures, and events EventBridge could not deliver), then asks Step Functions to redrive the
failed executions that never reached the workflow's own failure path. `reconcile` lists the
objects under `uploads/` and starts the workflow for each one whose record is missing, FAILED,
left PROCESSING by an execution that has ended, or describes an older version.

Both take boto3 clients, so the same code runs against a deployed stack and on the embedded local
cloud. Both are idempotent: each execution they start is named after what it replays, so a second
run finds that execution instead of starting another.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import HeadObjectOutputTypeDef, ObjectVersionTypeDef
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef
    from mypy_boto3_stepfunctions import SFNClient
    from mypy_boto3_stepfunctions.literals import ExecutionStatusType

    from mediaflow.localcloud import LocalCloud

UPLOAD_PREFIX = "uploads/"
# The task on the workflow's failure path that puts the event in FailedEventsQueue
# (statemachines/ingest.asl.json): an execution that entered it is replayed from the queue.
SEND_TO_DLQ_STATE = "Send to DLQ"
# Step Functions redrives an execution only within 14 days of its end.
REDRIVE_WINDOW = timedelta(days=14)
UNFINISHED_EXECUTIONS: tuple[ExecutionStatusType, ...] = ("FAILED", "TIMED_OUT", "ABORTED")
FINAL_STATUSES = ("PROCESSED", "REJECTED")
ABANDONED_ERROR = "Mediaflow.Abandoned"
# Long enough to start an execution and delete the message; messages left behind are released
# at the end of the run, so this only matters if the run dies half-way.
VISIBILITY_TIMEOUT_SECONDS = 300

# The stack's Outputs (template.yaml) that name what recovery works on.
_STACK_OUTPUTS = {
    "bucket": "MediaBucketName",
    "table": "MediaTableName",
    "state_machine_arn": "IngestStateMachineArn",
    "failed_events_queue_url": "FailedEventsQueueUrl",
}


def media_id(bucket: str, key: str) -> str:
    """The record key of an object: the same rule as the workflow's *Identify object* state."""
    return hashlib.sha256(f"{bucket}/{key}".encode()).hexdigest()


@dataclass(frozen=True)
class StackResources:
    """The resources of one Mediaflow stack that recovery reads and acts on."""

    bucket: str
    table: str
    state_machine_arn: str
    failed_events_queue_url: str

    @classmethod
    def from_stack(cls, cloudformation: CloudFormationClient, stack_name: str) -> StackResources:
        """Read a deployed stack's Outputs."""
        try:
            stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
        except ClientError as error:
            # CloudFormation answers ValidationError "Stack with id X does not exist".
            if error.response.get("Error", {}).get("Code") != "ValidationError":
                raise
            raise LookupError(f"no stack {stack_name!r}: {error}") from error
        outputs = {
            output["OutputKey"]: output["OutputValue"]
            for output in stacks[0].get("Outputs", [])
            if "OutputKey" in output and "OutputValue" in output
        }
        missing = [name for name in _STACK_OUTPUTS.values() if name not in outputs]
        if missing:
            raise LookupError(
                f"stack {stack_name!r} has no output {', '.join(missing)}: "
                "is it a Mediaflow stack, and fully deployed?"
            )
        return cls(**{attribute: outputs[name] for attribute, name in _STACK_OUTPUTS.items()})

    @classmethod
    def from_local_cloud(cls, cloud: LocalCloud) -> StackResources:
        return cls(cloud.bucket, cloud.table, cloud.state_machine_arn, cloud.dlq_url)


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN an execution of this name has, known before it starts."""
    head, sep, machine = state_machine_arn.partition(":stateMachine:")
    if not sep:
        raise ValueError(f"{state_machine_arn!r} is not a state machine ARN")
    return f"{head}:execution:{machine}:{name}"


def _execution_name(kind: str, *parts: str) -> str:
    """The same name for the same replay: a second run finds the execution the first one started."""
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return f"{kind}-{digest}"  # 74 characters at most; Step Functions allows 80


def _start_once(sfn: SFNClient, state_machine_arn: str, name: str, payload: str) -> str:
    """Start the named execution unless it exists: the status of the one found, or "" if started."""
    # Look first: StartExecution answers ExecutionAlreadyExists for a name whose execution has
    # ended, and quietly returns a running one, and the local cloud does not dedupe at all.
    # Looking makes every endpoint behave alike and lets the report say what was found.
    try:
        return sfn.describe_execution(executionArn=execution_arn(state_machine_arn, name))["status"]
    except sfn.exceptions.ExecutionDoesNotExist:
        pass
    try:
        sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=payload)
    except sfn.exceptions.ExecutionAlreadyExists:
        return "started meanwhile by another run"
    return ""


def upload_prefix(prefix: str) -> str:
    """The prefix, if it is under what the workflow ingests: processing anything else would
    only make thumbnails of thumbnails."""
    if not prefix.startswith(UPLOAD_PREFIX):
        raise ValueError(f"prefix {prefix!r} is outside {UPLOAD_PREFIX}, what the workflow ingests")
    return prefix


def _short(name: str) -> str:
    return name[: name.index("-") + 13]


# -- redrive ---------------------------------------------------------------------------------


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
    unsupported: str = ""  # the endpoint, when it cannot redrive executions at all
    actions: list[str] = field(default_factory=list)

    @property
    def nothing_to_do(self) -> bool:
        return self.messages_read == 0 and self.unfinished_executions == self.in_queue_executions

    def summary(self) -> str:
        if self.nothing_to_do:
            return "Nothing to do: the dead-letter queue is empty and no execution needs a redrive."
        would = "would be " if self.dry_run else ""
        lines = [*self.actions, *(f"left in the queue: {why}" for why in self.left_in_queue)]
        if self.unsupported:
            lines.append(f"RedriveExecution is not supported by {self.unsupported}.")
        lines += [
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
    prefix: str = UPLOAD_PREFIX,
    dry_run: bool = False,
    wait_seconds: int = 2,
    now: datetime | None = None,
) -> RedriveReport:
    """Replay FailedEventsQueue, then redrive unfinished executions that are not in it."""
    upload_prefix(prefix)
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
    name = _execution_name("redrive", message_id)
    replays.add(execution_arn(resources.state_machine_arn, name))
    if dry_run:
        report.executions_started += 1
        report.actions.append(f"would replay {key} as {_short(name)}… ({letter.origin})")
        return False
    found = _start_once(sfn, resources.state_machine_arn, name, json.dumps(letter.event))
    if found:
        report.already_replayed += 1
        report.actions.append(f"{key}: already replayed as {_short(name)}… ({found}), deleted")
    else:
        report.executions_started += 1
        report.actions.append(f"replayed {key} as {_short(name)}… ({letter.origin}), deleted")
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
    if report.unsupported:
        report.not_redrivable += 1
        return
    described = sfn.describe_execution(executionArn=arn)
    redrive_status = described.get("redriveStatus")
    if redrive_status is None:  # only the emulator leaves it out
        report.unsupported = "the local cloud (moto has no RedriveExecution)"
        report.not_redrivable += 1
        return
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
    except NotImplementedError:  # how moto answers an action it lacks
        report.unsupported = "the local cloud (moto has no RedriveExecution)"
        report.not_redrivable += 1
        return
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


# -- reconcile -------------------------------------------------------------------------------


@dataclass
class ReconcileReport:
    prefix: str = UPLOAD_PREFIX
    dry_run: bool = False
    objects_scanned: int = 0
    final: int = 0  # PROCESSED or REJECTED for the latest version
    in_progress: int = 0
    too_recent: int = 0  # younger than --min-age: their own event may still be on its way
    started: Counter[str] = field(default_factory=Counter)  # by reason
    already_started: int = 0
    changed_meanwhile: int = 0
    actions: list[str] = field(default_factory=list)

    @property
    def nothing_to_do(self) -> bool:
        return not self.started and not self.already_started and not self.changed_meanwhile

    def summary(self) -> str:
        would = "would start" if self.dry_run else "started"
        reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(self.started.items()))
        lines = [
            *self.actions,
            f"Objects under {self.prefix}: {self.objects_scanned} scanned, {self.final} final, "
            f"{self.in_progress} in progress, {self.too_recent} too recent, "
            f"{self.started.total()} {would}{f' ({reasons})' if reasons else ''}, "
            f"{self.already_started} already started, {self.changed_meanwhile} changed meanwhile.",
        ]
        if self.nothing_to_do:
            lines.append("Nothing to do.")
        elif self.dry_run:
            lines.append("Dry run: nothing was started or changed.")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Plan:
    """Why an object needs processing, and the sequencer that lets the workflow claim it."""

    reason: str
    sequencer: str
    abandoned_by: str = ""  # the ended execution that left the record PROCESSING
    abandoned_status: str = ""


def reconcile(
    s3: S3Client,
    dynamodb: DynamoDBClient,
    sfn: SFNClient,
    resources: StackResources,
    *,
    prefix: str = UPLOAD_PREFIX,
    dry_run: bool = False,
    min_age: timedelta = timedelta(0),
    now: datetime | None = None,
) -> ReconcileReport:
    """Start the workflow for every latest object version under `prefix` with no final record."""
    upload_prefix(prefix)
    now = now or datetime.now(UTC)
    report = ReconcileReport(prefix=prefix, dry_run=dry_run)
    running: set[tuple[str, str]] | None = None
    for listed in _latest_versions(s3, resources.bucket, prefix):
        report.objects_scanned += 1
        key = listed["Key"]
        version = "" if listed.get("VersionId", "null") == "null" else listed["VersionId"]
        if now - listed["LastModified"] < min_age:
            report.too_recent += 1
            continue
        record_id = media_id(resources.bucket, key)
        record = _record(dynamodb, resources.table, record_id)
        plan = _assess(sfn, record, version, report)
        if plan is None:
            continue
        if running is None:
            running = _running_objects(sfn, resources.state_machine_arn)
        if (key, version) in running:
            report.in_progress += 1
            continue
        owner = (record or {}).get("executionArn", "")
        name = _execution_name("reconcile", resources.bucket, key, version, plan.sequencer, owner)
        if dry_run:
            report.started[plan.reason] += 1
            report.actions.append(f"would start {_short(name)}… for {key} ({plan.reason})")
            continue
        if plan.abandoned_by and not _mark_abandoned(dynamodb, resources, record_id, plan, now):
            report.changed_meanwhile += 1
            report.actions.append(f"{key}: its record changed meanwhile; left for the next run")
            continue
        head = _head(s3, resources.bucket, key, version)
        if head is None:
            report.changed_meanwhile += 1
            report.actions.append(f"{key}: deleted meanwhile")
            continue
        event = object_created_event(resources, key, version, head, plan.sequencer, name)
        found = _start_once(sfn, resources.state_machine_arn, name, json.dumps(event))
        if found:
            report.already_started += 1
            report.actions.append(f"{key}: already started as {_short(name)}… ({found})")
        else:
            report.started[plan.reason] += 1
            report.actions.append(f"started {_short(name)}… for {key} ({plan.reason})")
    return report


def _assess(
    sfn: SFNClient, record: dict[str, str] | None, version: str, report: ReconcileReport
) -> _Plan | None:
    """What to do for the latest version, given its record; None (and counted) when nothing."""
    if record is None:
        return _Plan("no record", "0")
    status, owner, owner_status = record.get("status", ""), record.get("executionArn", ""), ""
    if status == "PROCESSING":
        owner_status = _execution_status(sfn, owner)
        if owner_status == "RUNNING":
            # At work on this version, or on another one that may be newer: leave it be.
            report.in_progress += 1
            return None
    if "versionId" not in record:
        # Written by "Record failure" before any claim: it has no version and no sequencer.
        return _Plan("failed", "0")
    if record["versionId"] != version:
        return _Plan("record of another version", _after(record.get("sequencer", "")))
    if status in FINAL_STATUSES:
        report.final += 1
        return None
    if status == "PROCESSING":
        return _Plan("abandoned", record.get("sequencer", "0"), owner, owner_status)
    # FAILED: the claim takes a replay of the same version that ended FAILED.
    return _Plan("failed", record.get("sequencer", "0"))


def _after(sequencer: str) -> str:
    """A sequencer the claim sees as newer: the record's (32 upper-case hex digits) plus one."""
    return format(int(sequencer or "0", 16) + 1, "032X")


def _latest_versions(s3: S3Client, bucket: str, prefix: str) -> Iterator[ObjectVersionTypeDef]:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        # A key whose latest entry is a delete marker is gone: nothing to process.
        yield from (version for version in page.get("Versions", []) if version.get("IsLatest"))


def _record(dynamodb: DynamoDBClient, table: str, record_id: str) -> dict[str, str] | None:
    item = dynamodb.get_item(
        TableName=table,
        Key={"mediaId": {"S": record_id}},
        ConsistentRead=True,
        ProjectionExpression="#status, versionId, sequencer, executionArn",
        ExpressionAttributeNames={"#status": "status"},
    ).get("Item")
    if item is None:
        return None
    return {name: value["S"] for name, value in item.items() if "S" in value}


def _execution_status(sfn: SFNClient, arn: str) -> str:
    if not arn:
        return "GONE"
    try:
        return sfn.describe_execution(executionArn=arn)["status"]
    except (sfn.exceptions.ExecutionDoesNotExist, sfn.exceptions.InvalidArn):
        return "GONE"  # Step Functions forgets closed executions after 90 days


def _running_objects(sfn: SFNClient, state_machine_arn: str) -> set[tuple[str, str]]:
    """(key, versionId) of every object an execution is working on now."""
    found: set[tuple[str, str]] = set()
    paginator = sfn.get_paginator("list_executions")
    for page in paginator.paginate(stateMachineArn=state_machine_arn, statusFilter="RUNNING"):
        for execution in page["executions"]:
            try:
                described = sfn.describe_execution(executionArn=execution["executionArn"])
                obj = json.loads(described.get("input", "{}"))["detail"]["object"]
                key, version = str(obj["key"]), str(obj.get("version-id") or "")
            except (ValueError, KeyError, TypeError, sfn.exceptions.ExecutionDoesNotExist):
                continue
            # S3 sends keys URL-encoded in events; listings give them plain.
            found |= {(key, version), (unquote_plus(key), version)}
    return found


def _mark_abandoned(
    dynamodb: DynamoDBClient, resources: StackResources, record_id: str, plan: _Plan, now: datetime
) -> bool:
    """Record FAILED what an ended execution left PROCESSING, so that the claim can take it over.
    False when the record no longer belongs to that execution."""
    cause = (
        f"execution {plan.abandoned_by} ended {plan.abandoned_status} while the record said "
        "PROCESSING; marked by mediaflow reconcile"
    )
    try:
        dynamodb.update_item(
            TableName=resources.table,
            Key={"mediaId": {"S": record_id}},
            UpdateExpression=(
                "SET #status = :failed, #error = :error, #cause = :cause, updatedAt = :now"
            ),
            ConditionExpression="executionArn = :execution AND #status = :processing",
            ExpressionAttributeNames={"#status": "status", "#error": "error", "#cause": "cause"},
            ExpressionAttributeValues={
                ":failed": {"S": "FAILED"},
                ":processing": {"S": "PROCESSING"},
                ":execution": {"S": plan.abandoned_by},
                ":error": {"S": ABANDONED_ERROR},
                ":cause": {"S": cause},
                ":now": {"S": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"},
            },
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return False
    return True


def _head(s3: S3Client, bucket: str, key: str, version: str) -> HeadObjectOutputTypeDef | None:
    try:
        if version:
            return s3.head_object(Bucket=bucket, Key=key, VersionId=version)
        return s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NoSuchVersion"):
            return None
        raise


def object_created_event(
    resources: StackResources,
    key: str,
    version: str,
    head: HeadObjectOutputTypeDef,
    sequencer: str,
    request_id: str,
) -> dict[str, Any]:
    """An S3 "Object Created" event as EventBridge delivers it (events/s3-object-created.json),
    for an object whose own event is lost; `reason` says where it came from. Built only from
    what HeadObject says, so the same object gives the same event, and the same execution input."""
    _, partition, _, region, account, *_ = resources.state_machine_arn.split(":")
    obj: dict[str, Any] = {"key": key, "size": head["ContentLength"]}
    obj["etag"] = head["ETag"].strip('"')
    if version:
        obj["version-id"] = version
    obj["sequencer"] = sequencer
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, request_id)),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": account,
        "time": head["LastModified"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:{partition}:s3:::{resources.bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": resources.bucket},
            "object": obj,
            "request-id": request_id,
            "requester": account,
            "reason": "Reconcile",
        },
    }
