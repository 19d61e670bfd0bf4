"""What the uploads of a `mediaflow run` would cost on AWS: measured per upload, priced per kind.

Measured from the run itself: the states each execution entered (and its retries) from its
history, the Lambda tasks and service calls it made, the billed durations of the functions
(the sandboxes' REPORT lines in functions.log, as Lambda writes them to CloudWatch Logs), the
record's size and the derived files' sizes. Priced with AWS's public on-demand prices in
us-east-1 (the constants below, with the page each was read from and when), without free tiers.
It is an estimate: S3 requests are counted per step from what each step does, not metered.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from mediaflow.cli.tables import table
from mediaflow.localcloud import LocalCloud

REGION = "us-east-1"
PRICES_READ = "2026-11-28"
# https://aws.amazon.com/step-functions/pricing/ : Standard workflows, US East (N. Virginia),
# $0.0250 per 1,000 state transitions; retries are billed as transitions too.
STEP_FUNCTIONS_PER_TRANSITION = 0.025 / 1000
# https://aws.amazon.com/lambda/pricing/ : the page renders its rate table client-side, so the
# rates are the last known public ones for us-east-1: Arm, first 7.5 billion GB-seconds a
# month, $0.0000133334 per GB-second; requests $0.20 per million (both architectures).
LAMBDA_ARM_PER_GB_SECOND = 0.0000133334
LAMBDA_X86_PER_GB_SECOND = 0.0000166667
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
# https://aws.amazon.com/rekognition/pricing/ : DetectLabels is a Group 2 API; the per-image
# rate is rendered client-side, so this is the last known public one for the first million
# images a month in us-east-1, $0.001 per image.
REKOGNITION_PER_IMAGE = 0.001
# https://aws.amazon.com/dynamodb/pricing/on-demand/ : on-demand writes, $0.625 per million
# write request units since the November 2024 reduction (last known public price: the page
# renders it client-side). One unit writes up to 1 KB of item; a table's global secondary
# index with an ALL projection (DeviceIndex) is written as well.
DYNAMODB_PER_WRITE_UNIT = 0.625 / 1_000_000
# https://aws.amazon.com/s3/pricing/ : S3 Standard, us-east-1, last known public prices (the
# page renders them client-side): PUT, COPY, POST, LIST $0.005 per 1,000; GET, SELECT and
# HEAD $0.0004 per 1,000; storage $0.023 per GB-month for the first 50 TB.
S3_PER_PUT = 0.005 / 1000
S3_PER_GET = 0.0004 / 1000
S3_PER_GB_MONTH = 0.023
GB = 1024**3

# S3 requests each step makes, by what it does (not metered locally): the device's upload is
# one PUT (or POST); Inspect a HEAD and one ranged GET; a thumbnail or rendition one GET of
# the original and one PUT; Detect labels one GET by Rekognition; Analyze audio one GET
# (streamed) and the waveform's PUT.
S3_REQUESTS_PER_STEP: dict[str, tuple[int, int]] = {  # state -> (PUTs, GETs)
    "upload": (1, 0),
    "Inspect object": (0, 2),
    "Make thumbnail": (1, 1),
    "Make label rendition": (1, 1),
    "Detect labels": (0, 1),
    "Analyze audio": (1, 1),
}
_REPORT = re.compile(r"^(\S+) \S+ REPORT RequestId: .*?\tBilled Duration: (\d+) ms")


@dataclass(frozen=True)
class Upload:
    """What one upload used, as measured."""

    kind: str
    transitions: int
    invocations: tuple[str, ...]  # the functions invoked (logical IDs), one entry per request
    rekognition_calls: int
    write_units: int
    s3_puts: int
    s3_gets: int
    derived_bytes: int


@dataclass(frozen=True)
class Function:
    """What prices a function's duration: its MemorySize, architecture and mean billed time."""

    memory_mb: int
    arm64: bool
    billed_ms: float

    @property
    def gb_seconds(self) -> float:
        return self.memory_mb / 1024 * self.billed_ms / 1000


def measure(cloud: LocalCloud) -> tuple[list[Upload], dict[str, Function]]:
    """Every recorded upload of the run, and the functions as they ran."""
    uploads = [
        _upload(cloud, record)
        for record in cloud.records()
        if record.get("executionArn", "").startswith("arn:")
    ]
    billed = billed_durations(cloud.function_log.read_text())
    functions = {
        name: Function(spec.memory_mb, _arm64(cloud, name), _mean(billed.get(name, [])))
        for name, spec in cloud.functions.items()
    }
    return uploads, functions


def billed_durations(log: str) -> dict[str, list[int]]:
    """Each function's billed milliseconds per request, from Lambda's REPORT lines."""
    found: dict[str, list[int]] = defaultdict(list)
    for line in log.splitlines():
        if match := _REPORT.match(line):
            found[match.group(1)].append(int(match.group(2)))
    return found


@dataclass(frozen=True)
class KindCost:
    """One kind's uploads in the run, and each service's cost in dollars for 1,000 like them."""

    uploads: int
    transitions: float  # mean per upload
    gb_seconds: float  # Lambda's, per 1,000 uploads
    costs: dict[str, float]


def per_thousand(uploads: Iterable[Upload], functions: dict[str, Function]) -> dict[str, KindCost]:
    """Per kind of upload, what 1,000 like those of the run would cost."""
    by_kind: dict[str, list[Upload]] = defaultdict(list)
    for upload in uploads:
        by_kind[upload.kind].append(upload)
    result: dict[str, KindCost] = {}
    for kind, group in sorted(by_kind.items()):
        scale = 1000 / len(group)
        calls = [name for upload in group for name in upload.invocations]
        gb_seconds = sum(functions[name].gb_seconds for name in calls if name in functions)
        duration = sum(
            functions[name].gb_seconds
            * (LAMBDA_ARM_PER_GB_SECOND if functions[name].arm64 else LAMBDA_X86_PER_GB_SECOND)
            for name in calls
            if name in functions
        )
        puts = sum(upload.s3_puts for upload in group)
        gets = sum(upload.s3_gets for upload in group)
        costs = {
            "Step Functions": sum(u.transitions for u in group) * STEP_FUNCTIONS_PER_TRANSITION,
            "Lambda": duration + len(calls) * LAMBDA_PER_REQUEST,
            "Rekognition": sum(u.rekognition_calls for u in group) * REKOGNITION_PER_IMAGE,
            "DynamoDB": sum(u.write_units for u in group) * DYNAMODB_PER_WRITE_UNIT,
            "S3 requests": puts * S3_PER_PUT + gets * S3_PER_GET,
            "S3 storage/month": sum(u.derived_bytes for u in group) / GB * S3_PER_GB_MONTH,
        }
        result[kind] = KindCost(
            uploads=len(group),
            transitions=sum(u.transitions for u in group) / len(group),
            gb_seconds=gb_seconds * scale,
            costs={service: cost * scale for service, cost in costs.items()},
        )
    return result


def report(uploads: list[Upload], functions: dict[str, Function]) -> str:
    """The lines `mediaflow run` prints after its table."""
    priced = per_thousand(uploads, functions)
    if not priced:
        return "Cost on AWS: no upload was recorded, nothing to estimate."
    services = list(next(iter(priced.values())).costs)
    rows = [
        [
            kind,
            cost.uploads,
            f"{cost.transitions:.1f}",
            f"{cost.gb_seconds:.2f}",
            *(f"${cost.costs[service]:.4f}" for service in services),
            f"${sum(cost.costs.values()):.4f}",
        ]
        for kind, cost in priced.items()
    ]
    headers = ["kind", "uploads", "transitions", "Lambda GB-s", *services, "total, 1st month"]
    return (
        f"\nEstimated AWS cost per 1,000 uploads of each kind ({REGION} on-demand prices read "
        f"{PRICES_READ}, no free tier; transitions are per upload, measured in this run; storage "
        "is of the derived files, per month kept):\n" + table(headers, rows, max_width=20)
    )


def _upload(cloud: LocalCloud, record: dict[str, Any]) -> Upload:
    history = cloud.history(record["executionArn"])
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e
    ]
    scheduled = [
        e["taskScheduledEventDetails"] for e in history if "taskScheduledEventDetails" in e
    ]
    task_states = sum(1 for e in history if e["type"] == "TaskStateEntered")
    by_arn = {spec.name: name for name, spec in cloud.functions.items()}
    invocations = tuple(
        by_arn.get(_function_name(task), "?")
        for task in scheduled
        if task["resourceType"] == "lambda"
    )
    writes = sum(1 for task in scheduled if task["resourceType"] == "dynamodb")
    puts, gets = S3_REQUESTS_PER_STEP["upload"]
    for state in entered:
        step_puts, step_gets = S3_REQUESTS_PER_STEP.get(state, (0, 0))
        puts, gets = puts + step_puts, gets + step_gets
    return Upload(
        kind=str(record.get("kind", "unknown")),
        # A retry is billed as a transition and enters no state: one more task scheduled.
        transitions=len(entered) + max(0, len(scheduled) - task_states),
        invocations=invocations,
        rekognition_calls=sum(1 for task in scheduled if "rekognition" in task["resourceType"]),
        write_units=writes * _write_units(record) * (1 + _indexes(cloud)),
        s3_puts=puts,
        s3_gets=gets,
        derived_bytes=sum(_size(cloud, key) for key in _derived_keys(cloud, record, entered)),
    )


def _function_name(task: dict[str, Any]) -> str:
    """The function a lambda:invoke task named: its name, from a name, ARN or alias ARN."""
    name = str(json.loads(task.get("parameters", "{}")).get("FunctionName", ""))
    parts = name.split(":")
    return parts[6] if len(parts) >= 7 else name


def _write_units(record: dict[str, Any]) -> int:
    """Write units of one write of the record: 1 KB each, rounded up (its JSON size is a close
    upper bound of DynamoDB's item size, names plus values)."""
    return max(1, math.ceil(len(json.dumps(record, default=str).encode()) / 1024))


def _indexes(cloud: LocalCloud) -> int:
    """The record table's global secondary indexes (the table the stack's MediaTableName is)."""
    table_id = cloud.stack.template["Outputs"]["MediaTableName"]["Value"]["Ref"]
    properties = cloud.stack.resources[table_id].get("Properties", {})
    return len(properties.get("GlobalSecondaryIndexes", []))


def _derived_keys(cloud: LocalCloud, record: dict[str, Any], entered: list[str]) -> list[str]:
    keys = [record.get("image", {}).get("thumbnailKey"), record.get("audio", {}).get("waveformKey")]
    if "Make label rendition" in entered and keys[0]:
        keys.append(keys[0].rpartition("/")[0] + "/label-source.jpg")
    return [key for key in keys if key]


def _size(cloud: LocalCloud, key: str) -> int:
    try:
        return int(cloud.s3.head_object(Bucket=cloud.bucket, Key=key)["ContentLength"])
    except ClientError:  # a file gone (the media was deleted) costs no storage
        return 0


def _arm64(cloud: LocalCloud, name: str) -> bool:
    template = cloud.stack.template
    default = template.get("Globals", {}).get("Function", {}).get("Architectures", ["x86_64"])
    own = cloud.stack.resources[name].get("Properties", {}).get("Architectures", default)
    return "arm64" in own


def _mean(values: list[int]) -> float:
    return sum(values) / len(values) if values else 0.0
