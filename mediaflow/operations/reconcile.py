"""`mediaflow reconcile`: process again every upload that has no final record.

It lists the latest version of every object under the upload folder and starts the workflow for
each one whose record is missing, FAILED, left PROCESSING by an execution that has ended, or
describes an older version. It takes boto3 clients, so the same code runs against a deployed
stack and on the embedded local cloud, and it is idempotent: each execution it starts is named
after the object version and record it replays.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from mediaflow.operations.replays import replay_name, short_name, start_once
from mediaflow.operations.stack import StackResources, media_id

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import HeadObjectOutputTypeDef, ObjectVersionTypeDef
    from mypy_boto3_stepfunctions import SFNClient

FINAL_STATUSES = ("PROCESSED", "REJECTED")
ABANDONED_ERROR = "Mediaflow.Abandoned"


@dataclass
class ReconcileReport:
    prefix: str = ""
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
    prefix: str | None = None,
    dry_run: bool = False,
    min_age: timedelta = timedelta(0),
    now: datetime | None = None,
) -> ReconcileReport:
    """Start the workflow for every latest object version under `prefix` with no final record."""
    prefix = resources.prefix_to_process(prefix)
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
        name = replay_name("reconcile", resources.bucket, key, version, plan.sequencer, owner)
        if dry_run:
            report.started[plan.reason] += 1
            report.actions.append(f"would start {short_name(name)}… for {key} ({plan.reason})")
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
        found = start_once(sfn, resources.state_machine_arn, name, json.dumps(event))
        if found:
            report.already_started += 1
            report.actions.append(f"{key}: already started as {short_name(name)}… ({found})")
        else:
            report.started[plan.reason] += 1
            report.actions.append(f"started {short_name(name)}… for {key} ({plan.reason})")
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
        return _Plan("record of another version", _sequencer_after(record.get("sequencer", "")))
    if status in FINAL_STATUSES:
        report.final += 1
        return None
    if status == "PROCESSING":
        return _Plan("abandoned", record.get("sequencer", "0"), owner, owner_status)
    # FAILED: the claim takes a replay of the same version that ended FAILED.
    return _Plan("failed", record.get("sequencer", "0"))


def _sequencer_after(sequencer: str) -> str:
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
